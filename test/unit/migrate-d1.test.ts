/**
 * `d1_migrations` is shared with `wrangler d1 migrations apply`, which creates it as below and records a
 * migration with `INSERT INTO d1_migrations (name) VALUES (…)`, relying on the column default for applied_at.
 * regate must create the same table, upgrade the one older regate versions made (applied_at without a
 * default, so wrangler's insert failed) in place keeping its rows, and recognise a database wrangler migrated.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteDb } from '../../src/adapters/sqlite/sqlite-db.ts';
import { applyMigrations, splitStatements } from '../../src/core/migrate.ts';
import { readMigrations } from '../../src/runtime/node-deps.ts';

/** workers-sdk packages/wrangler/src/d1/migrations/helpers.ts, initMigrationsTable. */
const WRANGLER_TABLE =
  'CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)';
/** What regate before this change created. */
const OLD_REGATE_TABLE =
  'CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TEXT NOT NULL)';

interface Column {
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
  pk: number;
}
const columns = (db: SqliteDb) =>
  db.prepare('PRAGMA table_info(d1_migrations)').all<Column>().then((cs) => cs.map(({ name, type, notnull, dflt_value, pk }) => ({ name, type, notnull, dflt_value, pk })));
const rows = (db: SqliteDb) => db.prepare('SELECT id, name, applied_at FROM d1_migrations ORDER BY id').all<{ id: number; name: string; applied_at: string }>();

async function wranglerShape(): Promise<Column[]> {
  const ref = new SqliteDb(':memory:');
  await ref.prepare(WRANGLER_TABLE).run();
  return columns(ref);
}

const M = (name: string, table: string) => ({ name, sql: `CREATE TABLE ${table} (x INTEGER);` });

describe('d1_migrations and wrangler', () => {
  it('a fresh database gets exactly wrangler’s table, and wrangler’s insert works on it', async () => {
    const db = new SqliteDb(':memory:');
    await applyMigrations(db, [M('0001_a.sql', 'a')], 0);
    expect(await columns(db)).toEqual(await wranglerShape());
    await db.prepare(`INSERT INTO d1_migrations (name) VALUES ('0002_by_wrangler.sql')`).run();
    const last = (await rows(db)).at(-1)!;
    expect(last.name).toBe('0002_by_wrangler.sql');
    expect(last.applied_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  it('upgrades the table older regate made in place, keeping its rows; wrangler can then record a migration', async () => {
    const db = new SqliteDb(':memory:');
    await db.prepare(OLD_REGATE_TABLE).run();
    await db.prepare('CREATE TABLE a (x INTEGER)').run();
    await db.prepare('CREATE TABLE b (x INTEGER)').run();
    await db.prepare(`INSERT INTO d1_migrations (name, applied_at) VALUES ('0001_a.sql', '2026-01-01T00:00:00.000Z'), ('0002_b.sql', '2026-01-02T00:00:00.000Z')`).run();
    // The old table refuses wrangler's insert: this is the bug.
    await expect(db.prepare(`INSERT INTO d1_migrations (name) VALUES ('probe')`).run()).rejects.toThrow(/NOT NULL/);
    const before = await rows(db);

    expect(await applyMigrations(db, [M('0001_a.sql', 'a'), M('0002_b.sql', 'b'), M('0003_c.sql', 'c')], Date.UTC(2026, 0, 3))).toEqual(['0003_c.sql']);

    expect(await columns(db)).toEqual(await wranglerShape());
    const after = await rows(db);
    expect(after.slice(0, 2)).toEqual(before);
    expect(after.map((r) => r.name)).toEqual(['0001_a.sql', '0002_b.sql', '0003_c.sql']);
    await db.prepare(`INSERT INTO d1_migrations (name) VALUES ('x')`).run();
    // AUTOINCREMENT carried over: new ids follow the old ones.
    expect((await rows(db)).map((r) => r.id)).toEqual([1, 2, 3, 4]);
    // A later start leaves the upgraded table and its rows alone.
    expect(await applyMigrations(db, [M('0001_a.sql', 'a'), M('0002_b.sql', 'b'), M('0003_c.sql', 'c')], 0)).toEqual([]);
    expect((await rows(db)).length).toBe(4);
  });

  it('recognises a database wrangler migrated: no migration is applied again', async () => {
    const db = new SqliteDb(':memory:');
    const all = readMigrations();
    // What `wrangler d1 migrations apply` does: its table, then each file and its name.
    await db.prepare(WRANGLER_TABLE).run();
    for (const m of all) {
      await db.batch([...splitStatements(m.sql).map((s) => db.prepare(s)), db.prepare('INSERT INTO d1_migrations (name) VALUES (?)').bind(m.name)]);
    }
    const before = await rows(db);
    expect(await applyMigrations(db, all, 0)).toEqual([]);
    expect(await rows(db)).toEqual(before);
    expect(await columns(db)).toEqual(await wranglerShape());
  });

  it('two starts upgrading the same old table at once both succeed and keep every row', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'regate-migrate-d1-'));
    const path = join(dir, 'regate.sqlite');
    const a = new SqliteDb(path, { reserveBytes: 0 });
    const b = new SqliteDb(path, { reserveBytes: 0 });
    try {
      await a.prepare(OLD_REGATE_TABLE).run();
      await a.prepare('CREATE TABLE a (x INTEGER)').run();
      await a.prepare(`INSERT INTO d1_migrations (name, applied_at) VALUES ('0001_a.sql', 'then')`).run();
      const ms = [M('0001_a.sql', 'a')];
      expect(await Promise.all([applyMigrations(a, ms, 0), applyMigrations(b, ms, 0)])).toEqual([[], []]);
      expect(await rows(a)).toEqual([{ id: 1, name: '0001_a.sql', applied_at: 'then' }]);
      expect(await columns(b)).toEqual(await wranglerShape());
    } finally {
      a.close();
      b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
