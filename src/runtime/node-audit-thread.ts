/**
 * @module node-audit-thread
 * `ThreadedAuditSink`: the audit group commit of the Node runtime, written by a worker thread
 * (node-audit-worker.ts) over its own SQLite connection to the same database file. Under load the in-thread group
 * commit cost about 10 µs of main-thread CPU per signing call (the multi-row INSERTs, the COMMIT's WAL writes,
 * the WAL auto-checkpoints and their fsync, all on the one event loop); here the main thread only stamps a row
 * with the injected clock (so rows keep request order and time), appends it to a flat array and posts the batch
 * to the worker at most every `postDelayMs` (10 ms) or every `postRows` (512) rows, one message per batch, as one
 * JSON string of the flat array. Posting the array itself clones faster (0.25 vs 0.41 µs a row), but the batch
 * is kept until acknowledged, and one string is far cheaper for the garbage collector to keep than thousands
 * of values: main-thread cost 0.46 vs 0.69 and 0.58 vs 0.93 µs a row in paired runs, string vs array
 * (bench/figures/audit-thread.ts).
 *
 * The worker commits each batch on receipt, one transaction per batch, and acknowledges it by sequence number;
 * its failure policy is BatchingAuditSink's (rows kept and retried with backoff while the database is busy or
 * full, the oldest dropped beyond `maxBuffered`, `audit_write_failed` logged).
 *
 * Fallback. Until a batch is acknowledged, the main thread keeps it. If the worker fails to start or dies, every
 * unacknowledged batch, every row still buffered and every later row goes to `fallback` (the in-thread
 * BatchingAuditSink on the main connection) with its original time, in order; this is logged once
 * (`audit_thread_failed`). Nothing is lost; a worker that dies between its COMMIT and its acknowledgement makes
 * the fallback write that one batch a second time (a duplicate row, never a missing one).
 *
 * What a crash can lose. `kill -9` loses exactly the rows not yet committed, never a committed one: those
 * recorded in the last `postDelayMs` (10 ms) and not yet posted, plus those posted and not yet committed by the
 * worker. While the worker keeps up, the second part is the batch in its current transaction: measured at 50,000
 * rows/s, a flush is committed within 0.4 ms (median) and 10 ms (p99); so a crash loses
 * about the last 10-20 ms of rows, down from the in-thread sink's 100 ms. The worker commits 340,000-430,000 rows/s
 * here, several times what one event loop issues signing calls at; a main thread recording faster than that
 * builds a backlog, and the backlog is at risk too (`pending` shows it). While the database refuses writes (held
 * lock, full disk), every row kept for the retry is at risk, as with the in-thread sink. A power loss can also
 * lose the transactions committed since SQLite's last WAL sync (synchronous = NORMAL), as before.
 *
 * `close()` flushes, then terminates the worker; later rows go to the fallback. The worker is referenced (keeps
 * the process alive) only while it holds rows not yet acknowledged.
 */
import { Worker } from 'node:worker_threads';
import type { AuditEvent, AuditSink, BatchingAuditSink } from '../core/audit.ts';
import type { Clock, Logger } from '../core/ports.ts';
import { systemTimers, type TimerHandle, type Timers } from '../core/timers.ts';
import { AUDIT_ROW_WIDTH, decodeRows, pushRow, type AuditBatchMessage, type AuditWorkerData, type AuditWorkerMessage } from './node-audit-protocol.ts';

export interface AuditThreadOptions {
  /** A recorded row is posted to the worker at most this long after `record`, ms. Default 10. */
  postDelayMs?: number;
  /** A batch is posted as soon as this many rows wait. Default 512. */
  postRows?: number;
  /** First retry delay after a failed write, doubling up to AUDIT_MAX_RETRY_MS, ms. Default 100 (as in-thread). */
  retryMs?: number;
  /** Rows the worker keeps while the database refuses writes; beyond this the oldest are dropped. Default 100 000. */
  maxBuffered?: number;
  /** The worker's total lock wait per write attempt, ms. Default 1000: its wait blocks no request. */
  lockWaitMs?: number;
}

export interface AuditThreadDeps {
  /** The database file (never ':memory:': another connection would see another database). */
  dbPath: string;
  clock: Clock;
  logger: Logger;
  /** Where rows go when the worker cannot take them: the in-thread group commit on the main connection. */
  fallback: Pick<BatchingAuditSink, 'recordAt' | 'flush' | 'pending'>;
  /** Timers of the post delay; default the runtime's. */
  timers?: Timers;
  options?: AuditThreadOptions;
}

interface Posted {
  seq: number;
  /** The batch as posted (JSON of the flat array): one string, cheap to keep until acknowledged. */
  json: string;
  /** Rows in the batch, and how many of its oldest the worker dropped (beyond maxBuffered). */
  count: number;
  skip: number;
}

export class ThreadedAuditSink implements AuditSink {
  readonly #worker: Worker;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #fallback: AuditThreadDeps['fallback'];
  readonly #timers: Timers;
  readonly #postDelayMs: number;
  readonly #postRows: number;
  /** Rows recorded and not yet posted, flat (AUDIT_ROW_WIDTH values a row). */
  #buf: unknown[] = [];
  #timer: TimerHandle | undefined;
  #seq = 0;
  /** Posted batches with rows, not yet acknowledged, oldest first; replayed to the fallback if the worker dies. */
  #unacked: Posted[] = [];
  #unackedRows = 0;
  /** Flushes waiting for the worker to have tried the batch of their seq. */
  #waiters: Array<{ seq: number; resolve: () => void }> = [];
  /** The worker is gone (died, failed to start, or closed): rows go to the fallback. */
  #gone = false;
  #closing = false;
  #referenced = true;

  constructor(d: AuditThreadDeps) {
    this.#clock = d.clock;
    this.#logger = d.logger;
    this.#fallback = d.fallback;
    this.#timers = d.timers ?? systemTimers;
    const o = d.options ?? {};
    this.#postDelayMs = o.postDelayMs ?? 10;
    this.#postRows = o.postRows ?? 512;
    const workerData: AuditWorkerData = {
      dbPath: d.dbPath,
      retryMs: o.retryMs ?? 100,
      maxBuffered: o.maxBuffered ?? 100_000,
      lockWaitMs: o.lockWaitMs ?? 1000,
    };
    this.#worker = new Worker(new URL('./node-audit-worker.ts', import.meta.url), { workerData });
    this.#worker.on('message', (m: AuditWorkerMessage) => this.#onMessage(m));
    this.#worker.on('error', (err) => this.#failOver(err));
    this.#worker.on('exit', (code) => this.#failOver(new Error(`audit worker exited with code ${code}`)));
    this.#unref();
  }

  get pending(): number {
    return this.#buf.length / AUDIT_ROW_WIDTH + this.#unackedRows + this.#fallback.pending;
  }

  record(e: AuditEvent): void {
    const at = this.#clock.now();
    if (this.#gone) {
      this.#fallback.recordAt(at, e);
      return;
    }
    pushRow(this.#buf, at, e);
    if (this.#buf.length >= this.#postRows * AUDIT_ROW_WIDTH) this.#post(false);
    else if (this.#timer === undefined) this.#timer = this.#timers.setTimeout(() => this.#post(false), this.#postDelayMs);
  }

  flush(): Promise<void> {
    if (this.#gone) return this.#fallback.flush();
    const seq = this.#post(true);
    return new Promise<void>((resolve) => {
      this.#waiters.push({ seq, resolve });
      this.#ref();
    });
  }

  /** Flushes, then stops the worker; rows recorded afterwards go to the fallback. */
  async close(): Promise<void> {
    await this.flush();
    if (this.#gone) return;
    this.#closing = true;
    this.#gone = true;
    await this.#worker.terminate();
    // Whatever reached the worker after the flush (a row recorded in the meantime) was not acknowledged: the
    // fallback writes it, and answers any flush still waiting.
    this.#handOver();
  }

  /** Tests: ends the worker as a crash would (nothing it holds is acknowledged afterwards). */
  terminateWorkerForTest(): Promise<number> {
    return this.#worker.terminate();
  }

  /** Posts the buffered rows (a flush posts even none, to be answered); returns the batch's seq. */
  #post(flush: boolean): number {
    if (this.#timer !== undefined) {
      this.#timers.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const flat = this.#buf;
    if (flat.length === 0 && !flush) return this.#seq;
    this.#buf = [];
    const seq = ++this.#seq;
    const rows = JSON.stringify(flat);
    if (flat.length > 0) {
      const count = flat.length / AUDIT_ROW_WIDTH;
      this.#unacked.push({ seq, json: rows, count, skip: 0 });
      this.#unackedRows += count;
      this.#ref();
    }
    const m: AuditBatchMessage = { seq, rows, flush };
    try {
      this.#worker.postMessage(m);
    } catch (err) {
      this.#failOver(err);
    }
    return seq;
  }

  #onMessage(m: AuditWorkerMessage): void {
    if (m.t === 'log') {
      this.#logger.error(m.event, m.fields);
      return;
    }
    if (m.t === 'trim') {
      const b = this.#unacked.find((x) => x.seq === m.seq);
      if (b) {
        b.skip += m.rows;
        this.#unackedRows -= m.rows;
      }
      return;
    }
    let n = 0;
    for (; n < this.#unacked.length && this.#unacked[n]!.seq <= m.done; n++) this.#unackedRows -= this.#unacked[n]!.count - this.#unacked[n]!.skip;
    if (n > 0) this.#unacked.splice(0, n);
    const ready = this.#waiters.filter((w) => w.seq <= m.tried);
    if (ready.length > 0) this.#waiters = this.#waiters.filter((w) => w.seq > m.tried);
    for (const w of ready) w.resolve();
    if (this.#unacked.length === 0 && this.#waiters.length === 0) this.#unref();
  }

  /** The worker is gone: what it held, what is buffered and what comes later goes to the fallback, in order. */
  #failOver(err: unknown): void {
    if (this.#closing) return;
    if (!this.#gone) {
      this.#gone = true;
      this.#logger.error('audit_thread_failed', { error: String(err), rows: this.#unackedRows + this.#buf.length / AUDIT_ROW_WIDTH });
    }
    this.#handOver();
  }

  /** Hands every unacknowledged and buffered row to the fallback, in order; waiting flushes follow its flush. */
  #handOver(): void {
    if (this.#timer !== undefined) {
      this.#timers.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const batches = [...this.#unacked.map((b) => decodeRows(JSON.parse(b.json) as unknown[]).slice(b.skip)), decodeRows(this.#buf)];
    this.#unacked = [];
    this.#unackedRows = 0;
    this.#buf = [];
    for (const rows of batches) for (const { at, e } of rows) this.#fallback.recordAt(at, e);
    const waiters = this.#waiters;
    this.#waiters = [];
    if (waiters.length > 0) void this.#fallback.flush().then(() => waiters.forEach((w) => w.resolve()));
    this.#unref();
  }

  #ref(): void {
    if (!this.#referenced && !this.#gone) {
      this.#referenced = true;
      this.#worker.ref();
    }
  }

  #unref(): void {
    if (this.#referenced) {
      this.#referenced = false;
      this.#worker.unref();
    }
  }
}

/** Starts the audit thread over the database file at `dbPath` (the main thread has migrated it). */
export function startAuditThread(d: AuditThreadDeps): ThreadedAuditSink {
  return new ThreadedAuditSink(d);
}
