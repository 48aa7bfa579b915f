/**
 * @module ports
 * The interfaces the portable core needs from a runtime. Runtime entries (src/runtime/*) pick the
 * implementations; the core never imports one.
 */

/** Milliseconds since the epoch. Injected so that tests never sleep. */
export interface Clock {
  now(): number;
}

export type SqlValue = string | number | null | Uint8Array;

/** One prepared statement. Mirrors the subset of D1's API we use so the D1 adapter stays trivial. */
export interface SqlStatement {
  bind(...values: SqlValue[]): SqlStatement;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  all<T = Record<string, unknown>>(): Promise<T[]>;
  run(): Promise<{ changes: number }>;
}

/**
 * A SQL database in SQLite's dialect. `batch` runs its statements atomically (D1 has no interactive
 * transactions, so every multi-statement write in the core is a batch).
 */
export interface SqlDb {
  prepare(sql: string): SqlStatement;
  batch(statements: SqlStatement[]): Promise<Array<Record<string, unknown>[]>>;
}

/** Structured log sink. Never given tokens or signed URIs. */
export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}
