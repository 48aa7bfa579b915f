/**
 * @module d1-db
 * The SqlDb port over Cloudflare D1 (a Worker's `env.DB` binding, or miniflare's `getD1Database` in tests).
 * Portable: web APIs only, and the few D1 types it uses are declared here rather than pulling in
 * @cloudflare/workers-types.
 *
 * The port was cut to D1's shape, so most calls pass straight through. What the adapter evens out, so the core
 * sees the same thing from D1 as from node:sqlite (src/adapters/sqlite/sqlite-db.ts):
 * - BLOB columns: D1 returns them as arrays of byte numbers; they are turned back into Uint8Array.
 * - Errors: D1 wraps SQLite's message as `D1_ERROR: <message>: SQLITE_CONSTRAINT (extended: …)`. A constraint
 *   failure is rethrown shaped like node:sqlite's (message `UNIQUE constraint failed: t.k`, `code`
 *   'ERR_SQLITE_ERROR', numeric extended `errcode`, `errstr`), because the core recognises some constraint
 *   failures by message (identity/admin-guard.ts). Lock and overload errors become SqlError('busy') (503 with
 *   Retry-After: D1 asks the caller to retry) and a full database SqlError('full') (507), as sql-errors.ts
 *   defines. Anything else is rethrown as D1 raised it.
 * - `batch([])`: D1 refuses an empty batch ("No SQL statements detected"); the port's answer is [].
 * D1's `batch` is one transaction (all or nothing), which is exactly what the port asks of `batch`; D1 has no
 * interactive transactions (BEGIN is refused), which is why the port never needed them.
 */
import type { SqlDb, SqlStatement, SqlValue } from '../../core/ports.ts';
import { SqlError } from '../../core/sql-errors.ts';

/** What D1 answers for `all`/`run`/each statement of a batch (the fields we read). */
export interface D1Result<T = Record<string, unknown>> {
  results?: T[];
  success?: boolean;
  meta?: { changes?: number };
}

/** The subset of D1's D1PreparedStatement this adapter calls. */
export interface D1PreparedStatement {
  bind(...values: unknown[]): D1PreparedStatement;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  all<T = Record<string, unknown>>(): Promise<D1Result<T>>;
  run<T = Record<string, unknown>>(): Promise<D1Result<T>>;
}

/** The subset of D1's D1Database binding this adapter calls. */
export interface D1Database {
  prepare(sql: string): D1PreparedStatement;
  batch<T = Record<string, unknown>>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]>;
}

/** SQLite's extended constraint codes by name, as D1 spells them after `extended:`. */
const CONSTRAINT_CODES: Record<string, number> = {
  SQLITE_CONSTRAINT: 19,
  SQLITE_CONSTRAINT_CHECK: 275,
  SQLITE_CONSTRAINT_FOREIGNKEY: 787,
  SQLITE_CONSTRAINT_NOTNULL: 1299,
  SQLITE_CONSTRAINT_PRIMARYKEY: 1555,
  SQLITE_CONSTRAINT_TRIGGER: 1811,
  SQLITE_CONSTRAINT_UNIQUE: 2067,
};

/** `D1_ERROR: <message>: SQLITE_X (extended: SQLITE_X_Y)`; the suffix is absent on some D1 versions. */
const D1_MESSAGE = /^(?:D1_[A-Z_]+:\s*)?(.*?)(?::\s*(SQLITE_[A-Z_]+)(?:\s*\(extended:\s*(SQLITE_[A-Z_]+)\))?)?\s*$/s;

/**
 * Lock and capacity errors of D1 and of the SQLite under it. D1's own: "D1 DB is overloaded. Requests queued
 * for too long." / "Too many requests queued." (retry later), "Exceeded maximum DB size" (the database's size
 * limit: like a full disk, retrying does not help until rows are deleted).
 */
const BUSY = /\b(SQLITE_BUSY|SQLITE_LOCKED)\b|database (table )?is locked|D1 DB is overloaded/i;
const FULL = /\bSQLITE_FULL\b|database or disk is full|Exceeded maximum DB size/i;

/** The error the core should see for an error D1 raised. */
export function translateD1Error(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const text = e.message;
  if (BUSY.test(text)) return new SqlError('busy', 'database is locked', { cause: e });
  if (FULL.test(text)) return new SqlError('full', 'database or disk is full', { cause: e });
  const m = D1_MESSAGE.exec(text);
  const primary = m?.[2];
  if (m && primary === 'SQLITE_CONSTRAINT') {
    const extended = m[3] ?? primary;
    const out = new Error(m[1], { cause: e }) as Error & { code: string; errcode: number; errstr: string };
    out.code = 'ERR_SQLITE_ERROR';
    out.errcode = CONSTRAINT_CODES[extended] ?? CONSTRAINT_CODES.SQLITE_CONSTRAINT!;
    out.errstr = 'constraint failed';
    return out;
  }
  return e;
}

/** D1 hands a BLOB back as an array of byte values (or an ArrayBuffer); the port promises Uint8Array. */
function decodeRow<T>(row: T): T {
  if (row === null || typeof row !== 'object') return row;
  const r = row as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    const v = r[k];
    if (Array.isArray(v)) r[k] = Uint8Array.from(v as number[]);
    else if (v instanceof ArrayBuffer) r[k] = new Uint8Array(v);
  }
  return row;
}

async function translated<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw translateD1Error(e);
  }
}

class D1Statement implements SqlStatement {
  readonly owner: D1Db;
  readonly d1: D1PreparedStatement;
  constructor(owner: D1Db, d1: D1PreparedStatement) {
    this.owner = owner;
    this.d1 = d1;
  }
  bind(...values: SqlValue[]): SqlStatement {
    // D1 binds a fresh statement each time, like the port: the prepared one stays reusable.
    return new D1Statement(this.owner, this.d1.bind(...values));
  }
  first<T>(): Promise<T | null> {
    return translated(async () => decodeRow((await this.d1.first<T>()) ?? null));
  }
  all<T>(): Promise<T[]> {
    return translated(async () => ((await this.d1.all<T>()).results ?? []).map(decodeRow));
  }
  run(): Promise<{ changes: number }> {
    return translated(async () => ({ changes: Number((await this.d1.run()).meta?.changes ?? 0) }));
  }
}

export class D1Db implements SqlDb {
  readonly d1: D1Database;
  constructor(d1: D1Database) {
    this.d1 = d1;
  }
  prepare(sql: string): SqlStatement {
    return new D1Statement(this, this.d1.prepare(sql));
  }
  batch(statements: SqlStatement[]): Promise<Array<Record<string, unknown>[]>> {
    for (const s of statements) {
      if (!(s instanceof D1Statement) || s.owner !== this) return Promise.reject(new TypeError('D1Db.batch takes statements it prepared'));
    }
    if (statements.length === 0) return Promise.resolve([]);
    return translated(async () => {
      const results = await this.d1.batch((statements as D1Statement[]).map((s) => s.d1));
      return results.map((r) => (r.results ?? []).map(decodeRow));
    });
  }
}
