/**
 * @module sqlite-db
 * The SqlDb port over Node's built-in `node:sqlite`. Calls are synchronous underneath, so a batch between
 * BEGIN and COMMIT can never interleave with another request's statements.
 */
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import type { SqlDb, SqlStatement, SqlValue } from '../../core/ports.ts';

class SqliteStatement implements SqlStatement {
  readonly db: DatabaseSync;
  readonly sql: string;
  readonly values: SqlValue[];
  constructor(db: DatabaseSync, sql: string, values: SqlValue[] = []) {
    this.db = db;
    this.sql = sql;
    this.values = values;
  }
  bind(...values: SqlValue[]): SqlStatement {
    return new SqliteStatement(this.db, this.sql, values);
  }
  exec(): Record<string, unknown>[] {
    return this.db.prepare(this.sql).all(...(this.values as SQLInputValue[])) as Record<string, unknown>[];
  }
  async first<T>(): Promise<T | null> {
    return (this.db.prepare(this.sql).get(...(this.values as SQLInputValue[])) as T | undefined) ?? null;
  }
  async all<T>(): Promise<T[]> {
    return this.exec() as T[];
  }
  async run(): Promise<{ changes: number }> {
    const r = this.db.prepare(this.sql).run(...(this.values as SQLInputValue[]));
    return { changes: Number(r.changes) };
  }
}

export class SqliteDb implements SqlDb {
  readonly db: DatabaseSync;
  /** @param path a file path, or ':memory:' */
  constructor(path: string) {
    this.db = new DatabaseSync(path);
    // WAL lets readers go on while a batch commits; foreign keys match D1, which always enforces them.
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
  }
  prepare(sql: string): SqlStatement {
    return new SqliteStatement(this.db, sql);
  }
  async batch(statements: SqlStatement[]): Promise<Array<Record<string, unknown>[]>> {
    const results: Array<Record<string, unknown>[]> = [];
    this.db.exec('BEGIN IMMEDIATE');
    try {
      for (const s of statements) {
        if (!(s instanceof SqliteStatement)) throw new TypeError('SqliteDb.batch takes statements it prepared');
        results.push(s.exec());
      }
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
    return results;
  }
  close(): void {
    this.db.close();
  }
}
