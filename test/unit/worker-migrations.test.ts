/**
 * The Worker bundles its migrations (src/runtime/worker-migrations.ts imports each file as text): a file added to
 * migrations/ and not listed there would leave D1 without its tables. This compares the list with the folder,
 * by name and content.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readMigrations } from '../../src/runtime/node-deps.ts';

/** The names worker-migrations.ts lists, read from its source (Node cannot import .sql modules). */
function listed(): string[] {
  const src = readFileSync(new URL('../../src/runtime/worker-migrations.ts', import.meta.url), 'utf8');
  return [...src.matchAll(/from '\.\.\/\.\.\/migrations\/([^']+\.sql)'/g)].map((m) => m[1]!);
}

describe('the Worker bundles every migration', () => {
  it('worker-migrations.ts imports exactly the files of migrations/, each under its own name', () => {
    const files = readMigrations().map((m) => m.name).sort();
    const missing = files.filter((f) => !listed().includes(f));
    expect(missing, `add to src/runtime/worker-migrations.ts: ${missing.map((f) => `import … from '../../migrations/${f}'`).join(', ')}`).toEqual([]);
    expect(listed().sort()).toEqual(files);
    const src = readFileSync(new URL('../../src/runtime/worker-migrations.ts', import.meta.url), 'utf8');
    for (const f of files) {
      const v = /^(\d+)_/.exec(f)![1];
      expect(src, f).toContain(`import m${v} from '../../migrations/${f}'`);
      expect(src, f).toContain(`{ name: '${f}', sql: m${v} }`);
    }
  });
});
