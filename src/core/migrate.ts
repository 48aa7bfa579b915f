/**
 * @module migrate
 * Applies the SQL files of migrations/ in name order, recording them in `d1_migrations`, the table wrangler
 * uses for D1, so a database migrated by either tool is recognised by the other.
 *
 * The table is created exactly as wrangler creates it (workers-sdk, d1/migrations/helpers.ts): wrangler records
 * a migration with `INSERT INTO d1_migrations (name) VALUES (…)` and relies on applied_at's default. Older
 * regate versions made applied_at `TEXT NOT NULL` without a default, on which that insert fails; such a table
 * is rebuilt in place, rows and ids kept.
 */
import type { SqlDb } from './ports.ts';

export interface Migration {
  name: string;
  sql: string;
}

/**
 * Splits a migration into statements. Our migrations hold no semicolons inside literals; a `CREATE TRIGGER`
 * runs on to the `END` that closes its body (whose own statements end in semicolons).
 */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let pending = '';
  const pieces = sql
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('--'))
    .join('\n')
    .split(';');
  for (const piece of pieces) {
    pending = pending === '' ? piece.trim() : `${pending};${piece}`;
    if (/^CREATE\s+(TEMP\s+|TEMPORARY\s+)?TRIGGER\b/i.test(pending) && !/\bEND\s*$/i.test(pending)) continue;
    if (pending.trim().length > 0) out.push(pending.trim());
    pending = '';
  }
  if (pending.trim().length > 0) out.push(pending.trim());
  return out;
}

/** wrangler's own definition, character for character in its columns. */
export const D1_MIGRATIONS_TABLE =
  'CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)';

/** Scratch name for the rebuild; dropped first, so a rebuild is safe to repeat. */
const REBUILD = 'd1_migrations_regate_rebuild';

/**
 * Rebuilds a `d1_migrations` whose applied_at has no default (older regate) into wrangler's shape. One batch,
 * so a crash or a second start doing the same leaves either the old table or the new one, never neither; a
 * repeat on an already rebuilt table copies it onto itself.
 */
async function upgradeMigrationsTable(db: SqlDb): Promise<void> {
  const cols = await db.prepare('PRAGMA table_info(d1_migrations)').all<{ name: string; dflt_value: string | null }>();
  const appliedAt = cols.find((c) => c.name === 'applied_at');
  if (!appliedAt || appliedAt.dflt_value !== null) return;
  await db.batch([
    db.prepare(`DROP TABLE IF EXISTS ${REBUILD}`),
    db.prepare(D1_MIGRATIONS_TABLE.replace('d1_migrations', REBUILD)),
    db.prepare(`INSERT INTO ${REBUILD} (id, name, applied_at) SELECT id, name, applied_at FROM d1_migrations`),
    db.prepare('DROP TABLE d1_migrations'),
    db.prepare(`ALTER TABLE ${REBUILD} RENAME TO d1_migrations`),
  ]);
}

/** `now` as SQLite's CURRENT_TIMESTAMP writes it (UTC `YYYY-MM-DD HH:MM:SS`), so rows by either tool agree. */
const sqlTimestamp = (now: number): string => new Date(now).toISOString().slice(0, 19).replace('T', ' ');

/** @example await applyMigrations(db, [{ name: '0001_init.sql', sql }], clock.now()) */
export async function applyMigrations(db: SqlDb, migrations: Migration[], now: number): Promise<string[]> {
  await db.prepare(D1_MIGRATIONS_TABLE).run();
  await upgradeMigrationsTable(db);
  const done = new Set((await db.prepare('SELECT name FROM d1_migrations').all<{ name: string }>()).map((r) => r.name));
  const applied: string[] = [];
  for (const m of [...migrations].sort((a, b) => a.name.localeCompare(b.name))) {
    if (done.has(m.name)) continue;
    const statements = splitStatements(m.sql).map((s) => db.prepare(s));
    // applied_at from the injected clock rather than the column default, so tests see a fixed time.
    statements.push(db.prepare('INSERT INTO d1_migrations (name, applied_at) VALUES (?, ?)').bind(m.name, sqlTimestamp(now)));
    try {
      await db.batch(statements);
    } catch (e) {
      // Another start (a second process on the data directory, another isolate) applied it between our read
      // and our batch; its batch was atomic, so the migration is whole. Anything else is a real failure.
      const recorded = await db.prepare('SELECT 1 AS x FROM d1_migrations WHERE name = ?').bind(m.name).first();
      if (recorded) continue;
      throw e;
    }
    applied.push(m.name);
  }
  return applied;
}
