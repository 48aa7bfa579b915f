/**
 * @module audit
 * The audit trail: grant changes, denials, signed-URI issues and downloads, with principal, model id, version,
 * path, bytes and status. Never a token or a signed URI.
 *
 * Two ways in. A change's own record (a grant change) goes in the change's batch, so the two commit together.
 * Everything else (denials, signed-URI issues, downloads, refused raw paths) goes through an `AuditSink`, which
 * keeps the hot path free of writes: rows are buffered and written together (group commit), one transaction per
 * flush instead of one per request. What a crash can lose is stated on `BatchingAuditSink`.
 */
import type { Clock, Logger, SqlDb, SqlStatement } from './ports.ts';
import type { Timers, TimerHandle } from './timers.ts';

export type AuditAction = 'grant_change' | 'denied' | 'sign_uri' | 'download' | 'raw_path_refused';

export interface AuditEvent {
  principalId: string | null;
  action: AuditAction;
  modelId?: string | null;
  version?: number | null;
  path?: string | null;
  bytes?: number | null;
  status: number;
  detail?: string;
}

const INSERT_AUDIT = 'INSERT INTO audit (at, principal_id, action, model_id, version, path, bytes, status, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';

function insertAt(db: SqlDb, at: number, e: AuditEvent): SqlStatement {
  return db
    .prepare(INSERT_AUDIT)
    .bind(at, e.principalId, e.action, e.modelId ?? null, e.version ?? null, e.path ?? null, e.bytes ?? null, e.status, (e.detail ?? '').slice(0, 1000));
}

/** Rows per INSERT of a group commit: D1 binds at most 100 values per statement, and a row has 9. */
export const AUDIT_ROWS_PER_INSERT = 11;

/** One multi-row INSERT for up to AUDIT_ROWS_PER_INSERT rows. */
function insertMany(db: SqlDb, rows: ReadonlyArray<{ at: number; e: AuditEvent }>): SqlStatement {
  const values = rows.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
  const binds = rows.flatMap(({ at, e }) => [at, e.principalId, e.action, e.modelId ?? null, e.version ?? null, e.path ?? null, e.bytes ?? null, e.status, (e.detail ?? '').slice(0, 1000)]);
  return db.prepare(`INSERT INTO audit (at, principal_id, action, model_id, version, path, bytes, status, detail) VALUES ${values}`).bind(...binds);
}

/** A statement recording `e`, to run inside the batch of the change it records. */
export function auditStatement(db: SqlDb, clock: Clock, e: AuditEvent): SqlStatement {
  return insertAt(db, clock.now(), e);
}

/** Commits `rows` in one transaction (multi-row INSERTs): the group commit's write, shared with the audit thread. */
export async function writeAuditRows(db: SqlDb, rows: ReadonlyArray<{ at: number; e: AuditEvent }>): Promise<void> {
  const statements: SqlStatement[] = [];
  for (let i = 0; i < rows.length; i += AUDIT_ROWS_PER_INSERT) statements.push(insertMany(db, rows.slice(i, i + AUDIT_ROWS_PER_INSERT)));
  await db.batch(statements);
}

/** Where records that are not part of a change go. `record` never throws and never waits. */
export interface AuditSink {
  record(e: AuditEvent): void;
  /** Writes every buffered row; resolves once they are committed (or the failure is logged). */
  flush(): Promise<void>;
  /** Rows recorded but not yet committed. */
  readonly pending: number;
}

/**
 * Longest wait between flush attempts while the database refuses writes (full disk, held lock): the delay
 * doubles from `maxDelayMs` up to this, so a full disk costs a retry (and a log line) every few seconds, not
 * ten a second.
 */
export const AUDIT_MAX_RETRY_MS = 5000;

export interface BatchingAuditOptions {
  /** A buffered row is written at most this long after it was recorded. Default 100 ms. */
  maxDelayMs?: number;
  /** A flush starts as soon as this many rows wait. Default 256. */
  maxRows?: number;
  /** Rows kept while the database refuses writes; beyond this the oldest are dropped and counted. Default 100 000. */
  maxBuffered?: number;
}

/**
 * Group commit for the audit trail. A row is committed at most `maxDelayMs` after `record` (or sooner, when
 * `maxRows` wait), in one batch with every other waiting row. Graceful shutdown flushes.
 *
 * What a crash can lose: `kill -9` loses the rows recorded in the last `maxDelayMs` (100 ms) that were not yet
 * flushed, never a committed one; a power loss can also lose the transactions SQLite committed since its last
 * WAL sync (synchronous = NORMAL). Rows of a change's own batch (grant changes) commit with the change.
 */
export class BatchingAuditSink implements AuditSink {
  readonly #db: SqlDb;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #logger: Logger;
  readonly #maxDelayMs: number;
  readonly #maxRows: number;
  readonly #maxBuffered: number;
  #rows: Array<{ at: number; e: AuditEvent }> = [];
  #timer: TimerHandle | undefined;
  #inFlight: Promise<void> = Promise.resolve();
  #writing = 0;
  /** Flushes failed in a row; sets the retry delay. */
  #failures = 0;
  dropped = 0;

  constructor(db: SqlDb, clock: Clock, timers: Timers, logger: Logger, opts: BatchingAuditOptions = {}) {
    this.#db = db;
    this.#clock = clock;
    this.#timers = timers;
    this.#logger = logger;
    this.#maxDelayMs = opts.maxDelayMs ?? 100;
    this.#maxRows = opts.maxRows ?? 256;
    this.#maxBuffered = opts.maxBuffered ?? 100_000;
  }

  get pending(): number {
    return this.#rows.length + this.#writing;
  }

  record(e: AuditEvent): void {
    this.recordAt(this.#clock.now(), e);
  }

  /** `record` of a row already stamped: rows handed over by ThreadedAuditSink keep their time and order. */
  recordAt(at: number, e: AuditEvent): void {
    this.#rows.push({ at, e });
    if (this.#rows.length >= this.#maxRows) void this.flush();
    else if (this.#timer === undefined) this.#timer = this.#timers.setTimeout(() => void this.flush(), this.#maxDelayMs);
  }

  flush(): Promise<void> {
    if (this.#timer !== undefined) {
      this.#timers.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    // Flushes run one after another, so rows commit in the order they were recorded.
    this.#inFlight = this.#inFlight.then(() => this.#write());
    return this.#inFlight;
  }

  async #write(): Promise<void> {
    const rows = this.#rows;
    if (rows.length === 0) return;
    this.#rows = [];
    this.#writing = rows.length;
    try {
      await writeAuditRows(this.#db, rows);
      this.#failures = 0;
    } catch (err) {
      // Keep the rows for the next flush (the database may be busy or full), within a bound.
      this.#rows = [...rows, ...this.#rows];
      const excess = this.#rows.length - this.#maxBuffered;
      if (excess > 0) {
        this.#rows.splice(0, excess);
        this.dropped += excess;
      }
      this.#failures++;
      const retryMs = Math.min(this.#maxDelayMs * 2 ** this.#failures, AUDIT_MAX_RETRY_MS);
      this.#logger.error('audit_write_failed', { error: String(err), rows: rows.length, dropped: this.dropped, retryMs });
      if (this.#timer === undefined) this.#timer = this.#timers.setTimeout(() => void this.flush(), retryMs);
    } finally {
      this.#writing = 0;
    }
  }
}

export interface AuditRow {
  id: number;
  at: number;
  principal_id: string | null;
  action: AuditAction;
  model_id: string | null;
  version: number | null;
  path: string | null;
  bytes: number | null;
  status: number;
  detail: string;
}

/** Newest first, `limit` rows from before `beforeId`. */
export async function listAudit(db: SqlDb, f: { modelId?: string; principalId?: string; action?: string; beforeId?: number; limit: number }): Promise<AuditRow[]> {
  return db
    .prepare(
      `SELECT id, at, principal_id, action, model_id, version, path, bytes, status, detail FROM audit
       WHERE (?1 IS NULL OR model_id = ?1) AND (?2 IS NULL OR principal_id = ?2) AND (?3 IS NULL OR action = ?3)
         AND (?4 IS NULL OR id < ?4)
       ORDER BY id DESC LIMIT ?5`,
    )
    .bind(f.modelId ?? null, f.principalId ?? null, f.action ?? null, f.beforeId ?? null, f.limit)
    .all<AuditRow>();
}
