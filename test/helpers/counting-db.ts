/**
 * @module counting-db
 * A SqlDb that records every statement it runs (a batch counts each of its statements), around a real one.
 * The statement-budget tests use it to hold hot routes to their SQL round trips.
 */
import type { SqlDb, SqlStatement, SqlValue } from '../../src/core/ports.ts';

export interface CountingDb extends SqlDb {
  /** SQL texts run since the last reset, in order. */
  readonly log: string[];
  reset(): void;
}

class CountingStatement implements SqlStatement {
  readonly inner: SqlStatement;
  readonly sql: string;
  readonly log: string[];
  constructor(inner: SqlStatement, sql: string, log: string[]) {
    this.inner = inner;
    this.sql = sql;
    this.log = log;
  }
  bind(...values: SqlValue[]): SqlStatement {
    return new CountingStatement(this.inner.bind(...values), this.sql, this.log);
  }
  first<T>(): Promise<T | null> {
    this.log.push(this.sql);
    return this.inner.first<T>();
  }
  all<T>(): Promise<T[]> {
    this.log.push(this.sql);
    return this.inner.all<T>();
  }
  run(): Promise<{ changes: number }> {
    this.log.push(this.sql);
    return this.inner.run();
  }
}

export function countingDb(db: SqlDb): CountingDb {
  const log: string[] = [];
  return {
    log,
    reset: () => void log.splice(0),
    prepare: (sql) => new CountingStatement(db.prepare(sql), sql, log),
    batch: (statements) => {
      const inner = statements.map((s) => {
        if (!(s instanceof CountingStatement)) throw new TypeError('countingDb.batch takes statements it prepared');
        log.push(s.sql);
        return s.inner;
      });
      return db.batch(inner);
    },
  };
}
