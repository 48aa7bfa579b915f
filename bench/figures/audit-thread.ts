/**
 * @module audit-thread
 * Standalone measurement (not part of run.ts): main-thread CPU per audit row and end-to-end rows/s of the
 * in-thread group commit (BatchingAuditSink on the request connection) vs ThreadedAuditSink (rows posted to a
 * worker thread with its own connection), each on a fresh migrated SQLite file.
 *
 *   node bench/figures/audit-thread.ts [--rows 100000] [--rounds 3] [--rate 50000]
 *
 * Load model: rows are recorded in bursts of 64 (a busy event loop's worth of signing calls), one burst per
 * macrotask (setImmediate), so timers, the group commit's flushes and the worker's acks interleave as under load.
 * Main-thread CPU is the event loop's active time (performance.eventLoopUtilization) from the first record to
 * the final flush's end, divided by the rows, minus the same loop with a sink that does nothing (the load
 * generator's own cost). rows/s is rows over wall time until every row is committed. Process CPU (all threads)
 * is reported too: the thread moves work, it does not remove it. Every 50th burst a flush() is timed (not awaited
 * by the load) to its rows being committed: the lag of a posted row, the part of the crash window after posting. Correctness first: each run checks that the
 * database holds exactly its rows, in order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { performance } from 'node:perf_hooks';
import { SqliteDb } from '../../src/adapters/sqlite/sqlite-db.ts';
import { applyMigrations } from '../../src/core/migrate.ts';
import { BatchingAuditSink, type AuditEvent, type AuditSink } from '../../src/core/audit.ts';
import { systemClock } from '../../src/core/clock.ts';
import { systemTimers } from '../../src/core/timers.ts';
import { readMigrations } from '../../src/runtime/node-deps.ts';
import { startAuditThread } from '../../src/runtime/node-audit-thread.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const ROWS = arg('rows', 100_000);
const ROUNDS = arg('rounds', 3);
const BURST = 64;
const quiet = { info() {}, warn() {}, error(event: string, f?: unknown) { console.error(event, f); } };

const event = (i: number): AuditEvent => ({
  principalId: '4546143906467880',
  action: 'sign_uri',
  modelId: '58c663bab4ea37d1360f0a36d7cff431',
  version: 1,
  path: 'data/weights.bin',
  bytes: 4194304,
  status: 200,
  detail: `jti=${i.toString(16).padStart(32, '0')}`,
});

type Side = 'none' | 'batching' | 'threaded';
interface Result {
  usPerRow: number;
  rowsPerSec: number;
  cpuUsPerRow: number;
  /** Milliseconds from a flush() call under load to its rows being committed (every 50th burst). */
  flushMs: number[];
}

/** A fresh migrated database in a temp dir, its in-thread sink, and (threaded side) the audit thread over it. */
async function sinks(threadedSide: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'regate-audit-bench-'));
  const path = join(dir, 'regate.sqlite');
  const db = new SqliteDb(path, { reserveBytes: 0 });
  await applyMigrations(db, readMigrations(), Date.now());
  const fallback = new BatchingAuditSink(db, systemClock, systemTimers, quiet);
  const threaded = threadedSide ? startAuditThread({ dbPath: path, clock: systemClock, logger: quiet, fallback }) : undefined;
  return { dir, path, db, fallback, threaded };
}

async function run(side: Side): Promise<Result> {
  const { dir, path, db, fallback, threaded } = await sinks(side === 'threaded');
  const sink: AuditSink =
    side === 'none' ? { record() {}, flush: async () => {}, pending: 0 } : side === 'batching' ? fallback : threaded!;
  // Let the worker start before timing (a server starts it once, at boot).
  if (threaded) await threaded.flush();
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const flushMs: number[] = [];
  const probes: Promise<void>[] = [];
  for (let i = 0, burst = 0; i < ROWS; burst++) {
    const end = Math.min(ROWS, i + BURST);
    for (; i < end; i++) sink.record(event(i));
    if (burst % 50 === 25) {
      const f0 = performance.now();
      probes.push(sink.flush().then(() => void flushMs.push(performance.now() - f0)));
    }
    await new Promise<void>((r) => setImmediate(r));
  }
  await sink.flush();
  await Promise.all(probes);
  const wall = performance.now() - t0;
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = process.cpuUsage(cpu0);
  await threaded?.close();
  if (side !== 'none') {
    const check = new DatabaseSync(path, { readOnly: true });
    const got = check.prepare('SELECT detail FROM audit ORDER BY id').all() as Array<{ detail: string }>;
    check.close();
    if (got.length !== ROWS || got.some((r, i) => r.detail !== event(i).detail)) throw new Error(`${side}: ${got.length} rows, expected ${ROWS} in order`);
  }
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { usPerRow: (elu.active * 1000) / ROWS, rowsPerSec: ROWS / (wall / 1000), cpuUsPerRow: (cpu.user + cpu.system) / ROWS, flushMs };
}

/**
 * Paced load: `rate` rows/s for `seconds`, one tick a millisecond; every 20th tick a flush() is timed to its
 * rows being committed. Below saturation this is the lag of a posted row (the crash window after posting).
 */
async function paced(side: 'batching' | 'threaded', rate: number, seconds: number): Promise<number[]> {
  const { dir, db, fallback, threaded } = await sinks(side === 'threaded');
  const sink: AuditSink = threaded ?? fallback;
  await sink.flush();
  const lags: number[] = [];
  const probes: Promise<void>[] = [];
  const t0 = performance.now();
  let sent = 0;
  for (let tick = 0; performance.now() - t0 < seconds * 1000; tick++) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    for (; sent < due; sent++) sink.record(event(sent));
    if (tick % 20 === 10) {
      const f0 = performance.now();
      probes.push(sink.flush().then(() => void lags.push(performance.now() - f0)));
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await sink.flush();
  await Promise.all(probes);
  await threaded?.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return lags.sort((a, b) => a - b);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results: Record<Side, Result[]> = { none: [], batching: [], threaded: [] };
await run('batching'); // warm-up, discarded
await run('threaded');
for (let r = 0; r < ROUNDS; r++) {
  const order: Side[] = r % 2 === 0 ? ['none', 'batching', 'threaded'] : ['threaded', 'batching', 'none'];
  for (const side of order) results[side].push(await run(side));
}
const base = median(results.none.map((x) => x.usPerRow));
console.log(`rows ${ROWS}, rounds ${ROUNDS}, bursts of ${BURST}; medians`);
console.log('| sink | main-thread µs/row (minus load generator) | rows/s to committed | process CPU µs/row (all threads) |');
console.log('|---|---|---|---|');
console.log(`| load generator alone | ${base.toFixed(2)} (raw) | | ${median(results.none.map((x) => x.cpuUsPerRow)).toFixed(2)} |`);
for (const side of ['batching', 'threaded'] as const) {
  const xs = results[side];
  console.log(`| ${side} | ${(median(xs.map((x) => x.usPerRow)) - base).toFixed(2)} | ${Math.round(median(xs.map((x) => x.rowsPerSec)))} | ${median(xs.map((x) => x.cpuUsPerRow)).toFixed(2)} |`);
}
for (const side of ['batching', 'threaded'] as const) {
  const all = results[side].flatMap((x) => x.flushMs).sort((a, b) => a - b);
  const q = (f: number) => all[Math.min(all.length - 1, Math.floor(f * all.length))]!.toFixed(1);
  console.log(`${side}: flush() under load to committed, ms: p50 ${q(0.5)}, p99 ${q(0.99)}, max ${all.at(-1)!.toFixed(1)} (${all.length} probes)`);
}
const b = median(results.batching.map((x) => x.usPerRow)) - base;
const t = median(results.threaded.map((x) => x.usPerRow)) - base;
console.log(`main-thread cost ratio threaded/batching: ${(t / b).toFixed(2)}`);

const RATE = arg('rate', 50_000);
for (const side of ['batching', 'threaded'] as const) {
  const lags = await paced(side, RATE, 2);
  const q = (f: number) => lags[Math.min(lags.length - 1, Math.floor(f * lags.length))]!.toFixed(1);
  console.log(`${side}, paced ${RATE} rows/s for 2 s: flush() to committed, ms: p50 ${q(0.5)}, p99 ${q(0.99)}, max ${lags.at(-1)!.toFixed(1)} (${lags.length} probes)`);
}
