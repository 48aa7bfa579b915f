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
 *
 * Locks. Readers never wait on a writer (WAL). A write that finds another connection or process holding the
 * write lock must not stall the process: `node:sqlite` is synchronous, so SQLite's own busy wait blocks the one
 * event loop, and every other request (GETs included) waits with it; a 5 s busy_timeout made an unrelated GET
 * take 4.7 s. So SQLite waits at most BUSY_TIMEOUT_MS per attempt (long enough for another process's ordinary
 * commit), and the adapter retries on timers, not blocking, until LOCK_WAIT_MS has passed; then the write fails
 * with SqlError('busy'), answered 503 COULD_NOT_ACQUIRE_LOCK with Retry-After.
 *
 * Full disk. SQLITE_FULL and disk I/O errors become SqlError('full') (507 RESOURCE_EXHAUSTED). A SQLite delete
 * needs new disk space too (the WAL grows, and after a restart the WAL file must be created), so on a full disk
 * the very deletes that would free space failed. A reserve file (RESERVE_BYTES of random bytes, `<db>-reserve`)
 * is kept beside a file database; when a write that deletes rows hits a full disk, the reserve is removed and the
 * write retried once, so deleting a version, a model or uploads commits, and its files are then purged. Other
 * writes are refused with 507 rather than spending the reserve. The reserve is written again, off the request
 * path, after a later successful statement once there is room for it (disk-reserve.ts).
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { SqlDb, SqlStatement, SqlValue } from '../../core/ports.ts';
import { SqlError } from '../../core/sql-errors.ts';
import { DiskReserve } from './disk-reserve.ts';

/**
 * How long one attempt lets SQLite wait for a lock, blocking the event loop: another process's commit holds the
 * lock for about a millisecond, so most waits end here without a retry, and no wait stalls other requests for
 * longer than this.
 */
export const BUSY_TIMEOUT_MS = 10;
/**
 * Total time a write waits for the lock before it is answered 503: long enough to ride out a peer's ordinary
 * transactions, short enough that a held lock (a peer tool's open `BEGIN IMMEDIATE`) is reported at once and
 * the client's own retry (with Retry-After) takes over.
 */
export const LOCK_WAIT_MS = 200;
/** Room kept for deletes on a full disk: a few thousand WAL pages, far more than a version's rows take. */
export const RESERVE_BYTES = 8 * 1024 * 1024;

export interface SqliteDbOptions {
  /** PRAGMA busy_timeout of one attempt, ms. */
  busyTimeoutMs?: number;
  /** Total lock wait of a write before SqlError('busy'), ms. */
  lockWaitMs?: number;
  /** Size of the reserve file; 0 keeps none. Ignored for ':memory:'. */
  reserveBytes?: number;
  /** Least time between attempts to write the reserve back after it was spent, ms. */
  reserveRetryMs?: number;
}

/** SQLite primary result codes (the low byte of an extended code). */
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_IOERR = 10;
const SQLITE_FULL = 13;

function primaryCode(e: unknown): number | undefined {
  const code = (e as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' ? code & 0xff : undefined;
}

/** Whether running `sql` deletes rows: such writes may spend the reserve on a full disk. */
const DELETES = /^\s*DELETE\s/i;
/** Whether `sql` only reads (anything else, `WITH … INSERT` included, counts as a write for `onWrite`). */
const READS = /^\s*SELECT\s/i;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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
  first<T>(): Promise<T | null> {
    return this.owner.attempt(
      () => (this.owner.compiled(this.sql).get(...(this.values as SQLInputValue[])) as T | undefined) ?? null,
      DELETES.test(this.sql),
      !READS.test(this.sql),
    );
  }
  all<T>(): Promise<T[]> {
    return this.owner.attempt(() => this.exec() as T[], DELETES.test(this.sql), !READS.test(this.sql));
  }
  run(): Promise<{ changes: number }> {
    return this.owner.attempt(
      () => {
        const r = this.owner.compiled(this.sql).run(...(this.values as SQLInputValue[]));
        return { changes: Number(r.changes) };
      },
      DELETES.test(this.sql),
      true,
    );
  }
}

export class SqliteDb implements SqlDb {
  readonly db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  readonly #lockWaitMs: number;
  /** Disk space kept for deletes on a full disk; none for ':memory:'. */
  readonly reserve: DiskReserve | undefined;
  /**
   * Called synchronously after every statement or batch that may have written, once it has committed and before
   * its promise settles (epoch-notice.ts tells other instances here). It must not throw.
   */
  onWrite: (() => void) | undefined;

  /** @param path a file path, or ':memory:' */
  constructor(path: string, opts: SqliteDbOptions = {}) {
    this.db = new DatabaseSync(path);
    this.#lockWaitMs = opts.lockWaitMs ?? LOCK_WAIT_MS;
    const busy = Math.max(0, Math.floor(opts.busyTimeoutMs ?? BUSY_TIMEOUT_MS));
    // WAL lets readers go on while a batch commits; foreign keys match D1, which always enforces them.
    this.db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = ${busy};`);
    const reserveBytes = opts.reserveBytes ?? RESERVE_BYTES;
    this.reserve = path === ':memory:' || path === '' || reserveBytes <= 0 ? undefined : new DiskReserve(`${path}-reserve`, reserveBytes, opts.reserveRetryMs ?? 10_000);
  }

  /**
   * Runs one synchronous unit of work (a statement, or a whole batch) with the lock and full-disk policy of the
   * module doc: lock timeouts are retried on timers until the lock wait is used up, then SqlError('busy'); a
   * full disk is SqlError('full'), after one retry on the released reserve when `deletes`.
   */
  async attempt<T>(work: () => T, deletes: boolean, writes: boolean): Promise<T> {
    const deadline = performance.now() + this.#lockWaitMs;
    let pause = 2;
    let usedReserve = false;
    for (;;) {
      try {
        const out = work();
        if (writes) this.onWrite?.();
        if (this.reserve?.spent) void this.reserve.restore();
        return out;
      } catch (e) {
        const code = primaryCode(e);
        if (code === SQLITE_BUSY || code === SQLITE_LOCKED) {
          const left = deadline - performance.now();
          if (left <= 0) throw new SqlError('busy', 'database is locked', { cause: e });
          await sleep(Math.min(pause, left));
          pause = Math.min(pause * 2, 25);
          continue;
        }
        if (code === SQLITE_FULL || code === SQLITE_IOERR) {
          if (deletes && !usedReserve && this.reserve?.spend()) {
            usedReserve = true;
            continue;
          }
          throw new SqlError('full', 'database or disk is full', { cause: e });
        }
        throw e;
      }
    }
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
  batch(statements: SqlStatement[]): Promise<Array<Record<string, unknown>[]>> {
    for (const s of statements) {
      if (!(s instanceof SqliteStatement) || s.owner !== this) return Promise.reject(new TypeError('SqliteDb.batch takes statements it prepared'));
    }
    const deletes = statements.some((s) => DELETES.test((s as SqliteStatement).sql));
    return this.attempt(() => this.#transaction(statements as SqliteStatement[]), deletes, true);
  }

  /** The batch as one synchronous transaction: nothing else can run between its BEGIN and COMMIT. */
  #transaction(statements: SqliteStatement[]): Array<Record<string, unknown>[]> {
    const results: Array<Record<string, unknown>[]> = [];
    this.db.exec('BEGIN IMMEDIATE');
    try {
      for (const s of statements) results.push(s.exec());
      this.db.exec('COMMIT');
    } catch (e) {
      // SQLite rolls back by itself on some errors (SQLITE_FULL, I/O errors); a ROLLBACK then would fail and
      // hide the error that matters.
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw e;
    }
    return results;
  }
  close(): void {
    this.#statements.clear();
    this.db.close();
  }
}
