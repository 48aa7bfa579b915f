/**
 * @module sqlite-db
 * The SqlDb port over Node's built-in `node:sqlite`. Calls are synchronous underneath, so a batch between
 * BEGIN and COMMIT can never interleave with another request's statements.
 *
 * Compiled statements are cached by SQL text (bounded, oldest out): a hot request runs the same few
 * statements over and over, and compiling them again cost more than running them.
 *
 * Durability: WAL with `synchronous = NORMAL`. A committed transaction is in the WAL file before COMMIT
 * returns, so it survives the process being killed (`kill -9`); after a power loss or kernel crash the
 * transactions committed since the last WAL sync may be rolled back, never half-applied (SQLite's own
 * guarantee). That trades the power-loss window for one fsync per checkpoint instead of one per commit.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { SqlDb, SqlStatement, SqlValue } from '../../core/ports.ts';

/** Distinct SQL texts kept compiled. Search builds SQL from filters, so the set is open-ended: bound it. */
export const STATEMENT_CACHE_SIZE = 512;

class SqliteStatement implements SqlStatement {
  readonly owner: SqliteDb;
  readonly sql: string;
  readonly values: SqlValue[];
  constructor(owner: SqliteDb, sql: string, values: SqlValue[] = []) {
    this.owner = owner;
    this.sql = sql;
    this.values = values;
  }
  bind(...values: SqlValue[]): SqlStatement {
    return new SqliteStatement(this.owner, this.sql, values);
  }
  exec(): Record<string, unknown>[] {
    return this.owner.compiled(this.sql).all(...(this.values as SQLInputValue[])) as Record<string, unknown>[];
  }
  async first<T>(): Promise<T | null> {
    return (this.owner.compiled(this.sql).get(...(this.values as SQLInputValue[])) as T | undefined) ?? null;
  }
  async all<T>(): Promise<T[]> {
    return this.exec() as T[];
  }
  async run(): Promise<{ changes: number }> {
    const r = this.owner.compiled(this.sql).run(...(this.values as SQLInputValue[]));
    return { changes: Number(r.changes) };
  }
}

export class SqliteDb implements SqlDb {
  readonly db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  /** @param path a file path, or ':memory:' */
  constructor(path: string) {
    this.db = new DatabaseSync(path);
    // WAL lets readers go on while a batch commits; foreign keys match D1, which always enforces them.
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
  }

  /** The compiled form of `sql`, from the cache when it is there. */
  compiled(sql: string): StatementSync {
    let s = this.#statements.get(sql);
    if (s) {
      // Move to the newest end, so the bound drops the least recently used text.
      this.#statements.delete(sql);
    } else {
      s = this.db.prepare(sql);
      if (this.#statements.size >= STATEMENT_CACHE_SIZE) this.#statements.delete(this.#statements.keys().next().value!);
    }
    this.#statements.set(sql, s);
    return s;
  }

  prepare(sql: string): SqlStatement {
    return new SqliteStatement(this, sql);
  }
  async batch(statements: SqlStatement[]): Promise<Array<Record<string, unknown>[]>> {
    const results: Array<Record<string, unknown>[]> = [];
    this.db.exec('BEGIN IMMEDIATE');
    try {
      for (const s of statements) {
        if (!(s instanceof SqliteStatement) || s.owner !== this) throw new TypeError('SqliteDb.batch takes statements it prepared');
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
    this.#statements.clear();
    this.db.close();
  }
}
