/**
 * The SqlDb contract on D1 inside workerd (the binding itself, not miniflare's proxy from Node), with the
 * migrations as the Worker bundles them (src/runtime/worker-migrations.ts). Each test gets an empty database:
 * this file's D1 (isolated per file by the plugin) is emptied before each `make()`.
 */
import { env } from 'cloudflare:test';
import { D1Db, type D1Database } from '../../src/adapters/d1/d1-db.ts';
import { WORKER_MIGRATIONS } from '../../src/runtime/worker-migrations.ts';
import { runSqlDbContract } from '../contract/sql-db.contract.ts';

/** Drops every table, view and trigger of ours (D1's own `_cf_` tables stay), foreign keys checked at commit. */
async function emptied(d1: D1Database): Promise<D1Db> {
  const objects =
    (await d1.prepare(`SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'`).all<{ type: string; name: string }>())
      .results ?? [];
  if (objects.length > 0) {
    await d1.batch([
      d1.prepare('PRAGMA defer_foreign_keys = on'),
      ...objects.map((o) => d1.prepare(`DROP ${o.type === 'view' ? 'VIEW' : 'TABLE'} IF EXISTS "${o.name.replace(/"/g, '""')}"`)),
    ]);
  }
  return new D1Db(d1);
}

runSqlDbContract('D1 (inside workerd)', () => emptied(env.DB as D1Database), [...WORKER_MIGRATIONS]);
