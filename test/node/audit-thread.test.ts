/**
 * ThreadedAuditSink (src/runtime/node-audit-thread.ts) with a real worker thread and a real SQLite file, read
 * back through a separate connection as an operator would:
 * - rows arrive in order with their fields and the main thread's time; a row is posted after the post delay
 *   (or at once when a batch is full) and committed with no flush;
 * - many rows across many batches;
 * - after `close`, `record` does not throw and the row is committed by the fallback;
 * - the worker dying mid-stream, or failing to start, loses no row (the fallback commits them), logged once;
 * - a database that refuses writes (another connection holds BEGIN IMMEDIATE) keeps the rows, a flush resolves
 *   with the failure logged, and the retry commits them once the lock is released; while a retry waits, new
 *   batches do not start writes (and log lines) of their own; beyond maxBuffered the oldest are dropped.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteDb } from '../../src/adapters/sqlite/sqlite-db.ts';
import { applyMigrations } from '../../src/core/migrate.ts';
import { BatchingAuditSink, type AuditEvent } from '../../src/core/audit.ts';
import { manualClock } from '../../src/core/clock.ts';
import { systemTimers } from '../../src/core/timers.ts';
import { readMigrations } from '../../src/runtime/node-deps.ts';
import { startAuditThread, type AuditThreadOptions, type ThreadedAuditSink } from '../../src/runtime/node-audit-thread.ts';
import { manualTimers, type ManualTimers } from '../helpers/manual-timers.ts';

interface Setup {
  path: string;
  db: SqliteDb;
  sink: ThreadedAuditSink;
  fallback: BatchingAuditSink;
  logs: Array<{ event: string; fields?: Record<string, unknown> }>;
  clock: ReturnType<typeof manualClock>;
}

const open: Setup[] = [];
const holders: DatabaseSync[] = [];
afterEach(async () => {
  for (const h of holders.splice(0)) {
    if (h.isTransaction) h.exec('ROLLBACK');
    h.close();
  }
  for (const s of open.splice(0)) {
    await s.sink.close();
    await s.fallback.flush();
    s.db.close();
  }
});

async function setup(opts: AuditThreadOptions = {}, extra: { dbPath?: string; timers?: ManualTimers } = {}): Promise<Setup> {
  const path = join(mkdtempSync(join(tmpdir(), 'regate-audit-thread-')), 'regate.sqlite');
  const db = new SqliteDb(path, { reserveBytes: 0 });
  await applyMigrations(db, readMigrations(), 0);
  const clock = manualClock(1_000_000);
  const logs: Setup['logs'] = [];
  const logger = { info() {}, warn() {}, error: (event: string, fields?: Record<string, unknown>) => void logs.push({ event, ...(fields ? { fields } : {}) }) };
  const fallback = new BatchingAuditSink(db, clock, systemTimers, logger);
  const sink = startAuditThread({ dbPath: extra.dbPath ?? path, clock, logger, fallback, ...(extra.timers ? { timers: extra.timers } : {}), options: opts });
  const s = { path, db, sink, fallback, logs, clock };
  open.push(s);
  return s;
}

/** The audit rows, oldest first, through a connection of their own. */
function rows(path: string): Array<Record<string, unknown>> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare('SELECT at, principal_id, action, model_id, version, path, bytes, status, detail FROM audit ORDER BY id').all() as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
}

/** Polls until `ok`, for at most 5 s. */
async function until(ok: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`${what}: not within 5 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const ev = (i: number): AuditEvent => ({ principalId: `p${i % 7}`, action: 'sign_uri', modelId: 'm1', version: 1, path: 'data/w.bin', bytes: i, status: 200, detail: `n=${i}` });

describe('ThreadedAuditSink', () => {
  it('commits rows in order with their fields and the main thread’s time', async () => {
    const s = await setup();
    s.sink.record({ principalId: 'ana', action: 'denied', modelId: 'm1', status: 403, detail: 'read' });
    s.clock.advance(5);
    s.sink.record({ principalId: null, action: 'raw_path_refused', status: 400 });
    s.clock.advance(5);
    s.sink.record({ principalId: 'bo', action: 'download', modelId: 'm2', version: 3, path: 'a/b.bin', bytes: 4096, status: 206, detail: 'x'.repeat(1500) });
    expect(s.sink.pending).toBe(3);
    await s.sink.flush();
    expect(s.sink.pending).toBe(0);
    expect(rows(s.path)).toEqual([
      { at: 1_000_000, principal_id: 'ana', action: 'denied', model_id: 'm1', version: null, path: null, bytes: null, status: 403, detail: 'read' },
      { at: 1_000_005, principal_id: null, action: 'raw_path_refused', model_id: null, version: null, path: null, bytes: null, status: 400, detail: '' },
      { at: 1_000_010, principal_id: 'bo', action: 'download', model_id: 'm2', version: 3, path: 'a/b.bin', bytes: 4096, status: 206, detail: 'x'.repeat(1000) },
    ]);
    expect(s.logs).toEqual([]);
    // Only the main connection keeps a full-disk reserve (here none either): the worker made no file of its own.
    expect(existsSync(`${s.path}-reserve`)).toBe(false);
  });

  it('posts after the post delay, or at once when a batch is full, and the worker commits with no flush', async () => {
    const timers = manualTimers();
    const s = await setup({ postDelayMs: 10, postRows: 4 }, { timers });
    s.sink.record(ev(0));
    expect(timers.pending()).toBe(1);
    timers.advance(9);
    await new Promise((r) => setTimeout(r, 50));
    expect(rows(s.path)).toHaveLength(0);
    timers.advance(1);
    await until(() => rows(s.path).length === 1, 'the row posted after 10 ms');
    await until(() => s.sink.pending === 0, 'the ack');
    // A full batch goes without the timer.
    for (let i = 1; i <= 4; i++) s.sink.record(ev(i));
    expect(timers.pending()).toBe(0);
    await until(() => rows(s.path).length === 5, 'the full batch');
  });

  it('commits many rows across many batches, in order', async () => {
    const s = await setup({ postRows: 100 });
    const n = 2345;
    for (let i = 0; i < n; i++) {
      s.sink.record(ev(i));
      if (i % 300 === 0) await new Promise((r) => setImmediate(r));
    }
    await s.sink.flush();
    const got = rows(s.path);
    expect(got).toHaveLength(n);
    expect(got.map((r) => r.detail)).toEqual(Array.from({ length: n }, (_, i) => `n=${i}`));
    expect(s.sink.pending).toBe(0);
  });

  it('record after close does not throw: the row goes to the fallback', async () => {
    const s = await setup();
    s.sink.record(ev(1));
    await s.sink.close();
    expect(rows(s.path)).toHaveLength(1);
    expect(() => s.sink.record(ev(2))).not.toThrow();
    expect(s.fallback.pending).toBe(1);
    await s.sink.flush();
    expect(rows(s.path).map((r) => r.detail)).toEqual(['n=1', 'n=2']);
    expect(s.logs).toEqual([]);
  });

  it('the worker dying mid-stream loses no row: the fallback commits what it had not acknowledged', async () => {
    const s = await setup({ postRows: 50, lockWaitMs: 10_000 });
    for (let i = 0; i < 200; i++) s.sink.record(ev(i));
    await s.sink.flush();
    // The next batches reach the worker while another connection holds the write lock: it is inside a write
    // (waiting for the lock) when it dies, with six batches received and none acknowledged.
    const holder = new DatabaseSync(s.path);
    holders.push(holder);
    holder.exec('BEGIN IMMEDIATE');
    for (let i = 200; i < 500; i++) s.sink.record(ev(i));
    expect(s.sink.pending).toBe(300);
    await s.sink.terminateWorkerForTest();
    holder.exec('COMMIT');
    for (let i = 500; i < 700; i++) s.sink.record(ev(i));
    await s.sink.flush();
    expect(rows(s.path).map((r) => r.detail)).toEqual(Array.from({ length: 700 }, (_, i) => `n=${i}`));
    expect(s.logs.filter((l) => l.event === 'audit_thread_failed')).toHaveLength(1);
    expect(s.sink.pending).toBe(0);
    // Later rows go straight to the fallback.
    s.sink.record(ev(700));
    await s.sink.flush();
    expect(rows(s.path).at(-1)!.detail).toBe('n=700');
  });

  it('the worker dying while it commits batch after batch loses no row (a batch may be written twice)', async () => {
    const s = await setup({ postRows: 50 });
    for (let i = 0; i < 2000; i++) s.sink.record(ev(i));
    await until(() => rows(s.path).length > 0, 'a first batch committed');
    await s.sink.terminateWorkerForTest();
    await s.sink.flush();
    const details = rows(s.path).map((r) => r.detail as string);
    expect(new Set(details)).toEqual(new Set(Array.from({ length: 2000 }, (_, i) => `n=${i}`)));
    expect(details.length - 2000).toBeLessThanOrEqual(50);
    expect(s.logs.filter((l) => l.event === 'audit_thread_failed')).toHaveLength(1);
  });

  it('a worker that cannot start sends every row to the fallback', async () => {
    const s = await setup({}, { dbPath: join(tmpdir(), 'regate-no-such-dir', 'nested', 'x.sqlite') });
    for (let i = 0; i < 3; i++) s.sink.record(ev(i));
    await s.sink.flush();
    await until(() => s.logs.some((l) => l.event === 'audit_thread_failed'), 'the failure logged');
    await s.sink.flush();
    expect(rows(s.path).map((r) => r.detail)).toEqual(['n=0', 'n=1', 'n=2']);
    expect(s.logs.filter((l) => l.event === 'audit_thread_failed')).toHaveLength(1);
  });

  it('keeps rows while another connection holds the write lock, and commits them once it is released', async () => {
    const s = await setup({ lockWaitMs: 50, retryMs: 20 });
    const holder = new DatabaseSync(s.path);
    holders.push(holder);
    holder.exec('BEGIN IMMEDIATE');
    for (let i = 0; i < 5; i++) s.sink.record(ev(i));
    await expect(s.sink.flush()).resolves.toBeUndefined();
    expect(s.logs.map((l) => l.event)).toContain('audit_write_failed');
    expect(s.sink.pending).toBe(5);
    expect(rows(s.path)).toHaveLength(0);
    holder.exec('COMMIT');
    // No flush: the worker's own retry commits them.
    await until(() => s.sink.pending === 0, 'the retry');
    expect(rows(s.path).map((r) => r.detail)).toEqual(['n=0', 'n=1', 'n=2', 'n=3', 'n=4']);
  });

  it('while a retry waits, new batches wait for it: one attempt and one log line per retry, not per batch', async () => {
    const s = await setup({ lockWaitMs: 50, retryMs: 60_000, postRows: 1 });
    const holder = new DatabaseSync(s.path);
    holders.push(holder);
    holder.exec('BEGIN IMMEDIATE');
    s.sink.record(ev(0));
    await s.sink.flush();
    const failures = () => s.logs.filter((l) => l.event === 'audit_write_failed').length;
    // (The row's own batch started an attempt; the flush, arriving during it, asked for one more.)
    const before = failures();
    expect(before).toBeGreaterThanOrEqual(1);
    // Five batches of one row each reach the worker while its retry waits (a minute away).
    for (let i = 1; i <= 5; i++) s.sink.record(ev(i));
    // The flush is answered after one more attempt, which fails: the five batches started none of their own.
    await s.sink.flush();
    expect(failures()).toBe(before + 1);
    expect(s.sink.pending).toBe(6);
    holder.exec('COMMIT');
    await s.sink.flush();
    expect(rows(s.path).map((r) => r.detail)).toEqual(Array.from({ length: 6 }, (_, i) => `n=${i}`));
  });

  it('beyond maxBuffered kept rows, the oldest are dropped and counted', async () => {
    const s = await setup({ lockWaitMs: 50, retryMs: 60_000, maxBuffered: 10 });
    const holder = new DatabaseSync(s.path);
    holders.push(holder);
    holder.exec('BEGIN IMMEDIATE');
    for (let i = 0; i < 25; i++) s.sink.record(ev(i));
    await s.sink.flush();
    expect(s.sink.pending).toBe(10);
    expect(s.logs.find((l) => l.event === 'audit_write_failed')!.fields).toMatchObject({ rows: 25, dropped: 15 });
    holder.exec('COMMIT');
    await s.sink.flush();
    expect(rows(s.path).map((r) => r.detail)).toEqual(Array.from({ length: 10 }, (_, i) => `n=${i + 15}`));
  });
});
