/**
 * The portable core stays portable: nothing under src/core or src/http imports a runtime (node:*,
 * cloudflare:*), a runtime-specific library (@aws-sdk/*, lru-cache, @hono/node-server) or an adapter. The
 * core's own tsconfig ("types": []) catches Node globals; this catches libraries that ship their own types.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const FORBIDDEN = /from\s+['"](node:[^'"]+|cloudflare:[^'"]+|@aws-sdk\/[^'"]+|lru-cache|@hono\/node-server[^'"]*|[^'"]*\/(adapters|runtime)\/[^'"]+)['"]/g;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('portable core', () => {
  it.each(['src/core', 'src/http'])('%s imports no runtime, runtime library or adapter', (dir) => {
    const offenders = files(dir).flatMap((f) => [...readFileSync(f, 'utf8').matchAll(FORBIDDEN)].map((m) => `${f}: ${m[1]}`));
    expect(offenders).toEqual([]);
  });
});
