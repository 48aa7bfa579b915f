/**
 * @module migrate
 * Applies the SQL files of migrations/ in name order, recording them in `d1_migrations`, the table wrangler
 * uses for D1, so a database migrated by either tool is recognised by the other.
 */
import type { SqlDb } from './ports.ts';

export interface Migration {
  name: string;
  sql: string;
}

/** Splits a migration into statements. Our migrations hold no semicolons inside literals or triggers. */
export function splitStatements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('--'))
    .join('\n')
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** @example await applyMigrations(db, [{ name: '0001_init.sql', sql }], clock.now()) */
export async function applyMigrations(db: SqlDb, migrations: Migration[], now: number): Promise<string[]> {
  await db
    .prepare(
      'CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TEXT NOT NULL)',
    )
    .run();
  const done = new Set((await db.prepare('SELECT name FROM d1_migrations').all<{ name: string }>()).map((r) => r.name));
  const applied: string[] = [];
  for (const m of [...migrations].sort((a, b) => a.name.localeCompare(b.name))) {
    if (done.has(m.name)) continue;
    const statements = splitStatements(m.sql).map((s) => db.prepare(s));
    statements.push(
      db.prepare('INSERT INTO d1_migrations (name, applied_at) VALUES (?, ?)').bind(m.name, new Date(now).toISOString()),
    );
    await db.batch(statements);
    applied.push(m.name);
  }
  return applied;
}
