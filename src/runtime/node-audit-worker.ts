/**
 * @module node-audit-worker
 * The worker thread of ThreadedAuditSink (node-audit-thread.ts): commits the audit rows the main thread posts,
 * through its own SQLite connection to the same database file, so the INSERTs, the COMMIT's WAL writes and the
 * WAL auto-checkpoints (with their fsync) run off the request event loop.
 *
 * Each batch received is committed at once, in one transaction (batches that arrived while a write was running
 * commit together in the next one). Every write attempt is answered with `{ t: 'done', done, tried }`: batches up
 * to `done` are finished (committed, or dropped and logged), and every batch up to `tried` was part of an
 * attempt (so a flush waiting on it may resolve). The failure policy is BatchingAuditSink's: while the database
 * refuses writes (busy, full) the rows are kept and retried with a doubling delay up to AUDIT_MAX_RETRY_MS; beyond
 * `maxBuffered` rows the oldest are dropped and counted; every failure is logged as `audit_write_failed`
 * (through the main thread's logger: log lines are posted as messages).
 *
 * Loaded by plain Node (type stripping), also when the sink is created under vitest: project imports carry
 * explicit `.ts` extensions and no TS-only runtime syntax is used. It never runs migrations: the main thread
 * has, before it started this worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteDb } from '../adapters/sqlite/sqlite-db.ts';
import { AUDIT_MAX_RETRY_MS, writeAuditRows, type AuditEvent } from '../core/audit.ts';
import { decodeRows, type AuditBatchMessage, type AuditWorkerData, type AuditWorkerMessage } from './node-audit-protocol.ts';

interface Batch {
  seq: number;
  rows: Array<{ at: number; e: AuditEvent }>;
}

const port = parentPort!;
const config = workerData as AuditWorkerData;
// No reserve file: only the main connection keeps the full-disk reserve (its deletes are the ones that free space).
// Opened at the first batch, not at start: a worker with nothing to write never touches the data directory (a
// process that stops, or a test that removes the directory, right after start finds no file created behind it).
// A database that cannot be opened fails the worker, so the main thread's fallback takes every row.
let db: SqliteDb | undefined;
function connection(): SqliteDb {
  if (db === undefined) {
    try {
      db = new SqliteDb(config.dbPath, { reserveBytes: 0, lockWaitMs: config.lockWaitMs });
    } catch (err) {
      setImmediate(() => {
        throw err;
      });
      throw err;
    }
  }
  return db;
}

/** Batches received and not yet taken by a write, oldest first (a failed write puts its batches back). */
let queue: Batch[] = [];
/** Rows received and not yet finished (in `queue` or in the write under way). */
let kept = 0;
/** Highest seq received; highest seq finished (committed, or dropped and logged). */
let received = 0;
let done = 0;
let dropped = 0;
/** Writes failed in a row; sets the retry delay. */
let failures = 0;
/** The retry after a failed write; while it waits, new batches do not start writes of their own. */
let retry: ReturnType<typeof setTimeout> | undefined;
/** Writes run one after another, so rows commit in the order they were recorded. */
let chain: Promise<void> = Promise.resolve();
/** A write is chained and not yet started (batches arriving meanwhile join it); `force` ignores a waiting retry. */
let queued = false;
let force = false;

const post = (m: AuditWorkerMessage) => port.postMessage(m);

function schedule(forced: boolean): void {
  if (forced) force = true;
  if (queued) return;
  queued = true;
  chain = chain.then(() => {
    queued = false;
    const forced = force;
    force = false;
    return forced || retry === undefined ? write() : undefined;
  });
}

async function write(): Promise<void> {
  if (retry !== undefined) {
    clearTimeout(retry);
    retry = undefined;
  }
  const tried = received;
  const batches = queue;
  queue = [];
  if (batches.length === 0) {
    done = tried;
  } else {
    const rows = batches.length === 1 ? batches[0]!.rows : batches.flatMap((b) => b.rows);
    const attempted = rows.length;
    try {
      await writeAuditRows(connection(), rows);
      failures = 0;
      kept -= attempted;
      done = tried;
    } catch (err) {
      // Keep the rows for the retry (the database may be busy or full), within a bound: the oldest go first.
      queue = [...batches, ...queue];
      let excess = kept - config.maxBuffered;
      while (excess > 0 && queue.length > 0) {
        const head = queue[0]!;
        const n = Math.min(excess, head.rows.length);
        head.rows.splice(0, n);
        kept -= n;
        excess -= n;
        dropped += n;
        if (head.rows.length === 0) {
          done = head.seq;
          queue.shift();
        } else {
          post({ t: 'trim', seq: head.seq, rows: n });
        }
      }
      failures++;
      const retryMs = Math.min(config.retryMs * 2 ** failures, AUDIT_MAX_RETRY_MS);
      post({ t: 'log', event: 'audit_write_failed', fields: { error: String(err), rows: attempted, dropped, retryMs } });
      retry = setTimeout(() => schedule(true), retryMs);
    }
  }
  post({ t: 'done', done, tried });
}

port.on('message', (m: AuditBatchMessage) => {
  received = m.seq;
  const rows = decodeRows(JSON.parse(m.rows) as unknown[]);
  if (rows.length > 0) {
    queue.push({ seq: m.seq, rows });
    kept += rows.length;
  }
  // While a retry waits (the database refused the last write), new rows wait for it, as in the group commit:
  // no write attempt and log line per batch. A flush tries at once.
  schedule(m.flush);
});
