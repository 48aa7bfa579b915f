/**
 * @module outbox-cost
 * What the webhook outbox adds to a registry write: `comments/create`'s batch on the real SQLite adapter (a file
 * in WAL mode with synchronous=NORMAL, as the Node entry runs it), measured three ways in one run, alternating
 * rounds: A, the comment INSERT alone (the batch before webhooks); B, the same plus the outbox statement with
 * 100 webhooks on other models and none on this one (the common case: no row written); C, plus one ACTIVE
 * webhook listening on this model (one row written). Correctness is checked before timing: B writes no outbox
 * row, C one per comment.
 *
 *   node bench/webhooks/outbox-cost.ts [--writes 2000] [--rounds 5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDb } from '../../src/adapters/sqlite/sqlite-db.ts';
import { applyMigrations } from '../../src/core/migrate.ts';
import { readMigrations } from '../../src/runtime/node-deps.ts';
import { commentCreatedEvent, enqueueEvent } from '../../src/core/webhooks/outbox.ts';
import type { SqlStatement } from '../../src/core/ports.ts';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const WRITES = arg('writes', 2000);
const ROUNDS = arg('rounds', 5);

const dir = mkdtempSync(join(tmpdir(), 'regate-outbox-bench-'));
const db = new SqliteDb(join(dir, 'bench.sqlite'));
await applyMigrations(db, readMigrations(), Date.now());
const now = Date.now();
await db.batch([
  db.prepare(`INSERT INTO registered_models (id, name, user_id, created_at, updated_at) VALUES ('m', 'm', 'u', ?, ?)`).bind(now, now),
  db.prepare(`INSERT INTO registered_models (id, name, user_id, created_at, updated_at) VALUES ('quiet', 'quiet', 'u', ?, ?)`).bind(now, now),
  db.prepare(`INSERT INTO model_versions (model_id, version, storage_id, model_dir, source, user_id, status, created_at, updated_at)
              VALUES ('m', 1, 's1', 'd', 'src', 'u', 'READY', ?, ?), ('quiet', 1, 's2', 'd', 'src', 'u', 'READY', ?, ?)`).bind(now, now, now, now),
]);
const events = JSON.stringify(['COMMENT_CREATED', 'MODEL_VERSION_CREATED']);
for (let i = 0; i < 100; i++) {
  await db.prepare(`INSERT INTO webhooks (id, model_id, owner_id, events, url, status, created_at, updated_at) VALUES (?, ?, 'u', ?, 'https://h.example/', 'ACTIVE', ?, ?)`)
    .bind(`other${i}`, `other-model-${i}`, events, now, now).run();
}
await db.prepare(`INSERT INTO webhooks (id, model_id, owner_id, events, url, status, created_at, updated_at) VALUES ('hook', 'm', 'u', ?, 'https://h.example/', 'ACTIVE', ?, ?)`).bind(events, now, now).run();

let seq = 0;
const insert = (model: string): SqlStatement =>
  db.prepare(`INSERT INTO comments (id, model_id, version, user_id, principal_id, comment, created_at, updated_at) VALUES (?, ?, 1, 'u', 'u', 'looks good', ?, ?)`)
    .bind(`c${seq++}`, model, now, now);
const sides: Record<string, () => SqlStatement[]> = {
  'A insert only': () => [insert('quiet')],
  'B + outbox, no webhook matches': () => [insert('quiet'), enqueueEvent(db, commentCreatedEvent('quiet', 'quiet', 1, 'looks good', now))],
  'C + outbox, one webhook matches': () => [insert('m'), enqueueEvent(db, commentCreatedEvent('m', 'm', 1, 'looks good', now))],
};

// Correctness first.
const outboxRows = async () => (await db.prepare('SELECT count(*) AS n FROM webhook_outbox').first<{ n: number }>())!.n;
await db.batch(sides['B + outbox, no webhook matches']!());
if ((await outboxRows()) !== 0) throw new Error('B wrote an outbox row');
await db.batch(sides['C + outbox, one webhook matches']!());
if ((await outboxRows()) !== 1) throw new Error('C did not write exactly one outbox row');

const times: Record<string, number[]> = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? Object.keys(sides) : Object.keys(sides).reverse();
  for (const k of order) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < WRITES; i++) await db.batch(sides[k]!());
    times[k]!.push(Number(process.hrtime.bigint() - t0) / 1e3 / WRITES);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(times['A insert only']!);
for (const [k, xs] of Object.entries(times)) console.log(`${k.padEnd(34)} ${median(xs).toFixed(1).padStart(7)} µs/write  ×${(median(xs) / base).toFixed(2)}`);
console.log(JSON.stringify({ writes: WRITES, rounds: ROUNDS, medianUsPerWrite: Object.fromEntries(Object.entries(times).map(([k, xs]) => [k, Number(median(xs).toFixed(2))])) }));
db.close();
rmSync(dir, { recursive: true, force: true });
