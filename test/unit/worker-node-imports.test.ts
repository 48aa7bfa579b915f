/**
 * @module worker-node-imports.test
 * The Worker's module graph (from src/runtime/worker.ts, following the relative imports that survive
 * compilation, i.e. not `import type`) reaches no Node socket module: node:http, node:https and node:net are
 * the Node S3 client's (s3-config.ts, reused-read-agent.ts), and a Worker bundling them carries their
 * nodejs_compat polyfills for nothing, since it sends with fetch (worker-s3.ts). Read from the sources, so it
 * needs no bundler; `wrangler deploy --dry-run --outdir x` shows the same in x/worker.js.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ENTRY = resolve(import.meta.dirname, '../../src/runtime/worker.ts');
/** Static imports and re-exports with their specifier; `import type` / `export type` are erased, so skipped. */
const IMPORT = /^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;

function graph(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    const specs = [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => m[1]!);
    seen.set(file, specs);
    for (const s of specs) if (s.startsWith('.') && s.endsWith('.ts')) todo.push(resolve(dirname(file), s));
  }
  return seen;
}

describe('the Worker module graph', () => {
  it('imports no Node socket module (the Node S3 client stays out of the Worker bundle)', () => {
    const files = graph(ENTRY);
    // The walk does reach the S3 store and its settings, so an empty result is not a walk that found nothing.
    expect([...files.keys()].some((f) => f.endsWith('/adapters/s3/s3-client-config.ts'))).toBe(true);
    expect([...files.keys()].some((f) => f.endsWith('/adapters/s3/s3-object-store.ts'))).toBe(true);
    const offending = [...files].flatMap(([f, specs]) => specs.filter((s) => /^node:(http|https|net)$/.test(s)).map((s) => `${f}: ${s}`));
    expect(offending).toEqual([]);
  });
});
