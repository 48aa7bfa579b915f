/**
 * The Worker entry (src/runtime/worker.ts) inside workerd, on wrangler.toml's D1 and R2 bindings: it fails
 * closed without its secrets (503 naming them, nothing written, the failure not kept), builds its dependencies
 * once per isolate (migrations and bootstrap once, concurrent first requests included), makes the first admin
 * from REGATE_ADMIN_TOKEN, and writes audit rows through ctx.waitUntil (the group commit's timer never fires
 * here: the manual timers are never advanced), also for a download whose client went away.
 *
 * The steps share this file's D1 (fresh per file) and run in order: the database is new for the first ones.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createWorker } from '../../src/runtime/worker.ts';
import workerDefault from '../../src/runtime/worker.ts';
import type { D1Database } from '../../src/adapters/d1/d1-db.ts';
import type { WorkerEnv } from '../../src/runtime/worker-env.ts';
import { manualTimers } from '../helpers/manual-timers.ts';
import { manualClock } from '../../src/core/clock.ts';
import { equalBytes, pattern } from '../helpers/streams.ts';
import { fetchWorker, workerEnv } from './worker-harness.ts';

const ADMIN = env.REGATE_ADMIN_TOKEN as string;
const auth = { Authorization: `Bearer ${ADMIN}` };
const ME = '/api/2.0/preview/scim/v2/Me';

/** `env` without the named secrets. */
function without(...names: string[]): WorkerEnv {
  const e = workerEnv();
  for (const n of names) delete e[n];
  return e;
}

/** D1 wrapped to count the statements whose SQL matches `re`. */
function countingD1(d1: D1Database, re: RegExp): { d1: D1Database; count: () => number } {
  let n = 0;
  const wrapped: D1Database = {
    prepare(sql: string) {
      if (re.test(sql)) n++;
      return d1.prepare(sql);
    },
    batch: (s) => d1.batch(s),
  };
  return { d1: wrapped, count: () => n };
}

const tables = async () =>
  ((await (env.DB as D1Database).prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'`).all<{ name: string }>()).results ?? []).map((r) => r.name);

describe('the Worker entry, in order on one fresh D1', () => {
  it('without REGATE_KEY_ENCRYPTION_KEY: 503 naming the secret, nothing written; set later, the next request serves', async () => {
    const worker = createWorker();
    const missing = await fetchWorker(worker, without('REGATE_KEY_ENCRYPTION_KEY'), ME, { headers: auth });
    expect(missing.res.status).toBe(503);
    const body = JSON.parse(new TextDecoder().decode(missing.body));
    expect(body.error_code).toBe('TEMPORARILY_UNAVAILABLE');
    expect(body.message).toContain('REGATE_KEY_ENCRYPTION_KEY');
    expect(body.message).toContain('wrangler secret put');
    expect(await tables()).toEqual([]);

    const short = await fetchWorker(worker, workerEnv({ REGATE_KEY_ENCRYPTION_KEY: 'AAECAwQFBgcICQoLDA0ODw' }), ME, { headers: auth });
    expect(short.res.status).toBe(503);
    expect(new TextDecoder().decode(short.body)).toContain('32 bytes');
    expect(await tables()).toEqual([]);
  });

  it('a malformed REGATE_WEBHOOK_* var: 503 naming it (webhooks are wired from the vars at start)', async () => {
    const r = await fetchWorker(createWorker(), workerEnv({ REGATE_WEBHOOK_MAX_ATTEMPTS: 'many' }), ME, { headers: auth });
    expect(r.res.status).toBe(503);
    expect(new TextDecoder().decode(r.body)).toContain('REGATE_WEBHOOK_MAX_ATTEMPTS');
    expect(await tables()).toEqual([]);
  });

  it('without REGATE_ADMIN_TOKEN on a database with no admin: 503 naming it, and no admin made', async () => {
    const worker = createWorker();
    const r = await fetchWorker(worker, without('REGATE_ADMIN_TOKEN'), ME, { headers: auth });
    expect(r.res.status).toBe(503);
    expect(new TextDecoder().decode(r.body)).toContain('REGATE_ADMIN_TOKEN');
    const admins = await (env.DB as D1Database).prepare(`SELECT COUNT(*) AS n FROM principals WHERE kind = 'user'`).first<{ n: number }>();
    expect(admins?.n).toBe(0);
  });

  it('concurrent first requests build one instance: migrations and bootstrap once, one admin whose token is the secret', async () => {
    const counted = countingD1(env.DB as D1Database, /SELECT name FROM d1_migrations|first_admin/);
    const e = workerEnv({ DB: counted.d1 as unknown as string });
    const worker = createWorker();
    const answers = await Promise.all(Array.from({ length: 5 }, () => fetchWorker(worker, e, ME, { headers: auth })));
    for (const a of answers) expect(a.res.status).toBe(200);
    expect(JSON.parse(new TextDecoder().decode(answers[0]!.body)).userName).toBe('admin');
    const afterFirst = counted.count();
    expect(afterFirst).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) expect((await fetchWorker(worker, e, ME, { headers: auth })).res.status).toBe(200);
    expect(counted.count()).toBe(afterFirst); // nothing of the start runs again
    expect(await worker.instance(e)).toBe(await worker.instance(e));
    expect((await worker.instance(e)).deps.webhooks).toBeDefined();
    const users = await (env.DB as D1Database).prepare(`SELECT COUNT(*) AS n FROM principals WHERE kind = 'user'`).first<{ n: number }>();
    expect(users?.n).toBe(1);
    // A database that has its admin no longer needs the secret.
    expect((await fetchWorker(createWorker(), without('REGATE_ADMIN_TOKEN'), ME, { headers: auth })).res.status).toBe(200);
  });

  it('the default export is the same entry', async () => {
    const ctx = createExecutionContext();
    const res = await workerDefault.fetch(new Request(`http://localhost${ME}`, { headers: auth }), workerEnv(), ctx);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    await waitOnExecutionContext(ctx);
  });

  it('audit rows are written through ctx.waitUntil, not the group commit timer', async () => {
    const timers = manualTimers();
    const worker = createWorker({ timers });
    const e = workerEnv();
    const before = await auditCount();
    const ctx = createExecutionContext();
    // A refused raw path under the managed prefix: recorded by the app, written after the response.
    const res = await worker.fetch(new Request('http://localhost/dbfs/databricks/mlflow-registry/x/models/m/MLmodel', { headers: auth }), e, ctx);
    expect(res.status).toBe(403);
    await res.arrayBuffer();
    await waitOnExecutionContext(ctx);
    expect(await auditCount()).toBe(before + 1);
    expect(timers.pending()).toBe(0); // the flush cleared the timer it would otherwise have waited on
  });

  it('a download: exact Content-Length, the bytes, and its audit row written after the body, also when the client left', async () => {
    const timers = manualTimers();
    const worker = createWorker({ timers });
    const e = workerEnv();
    const N = 3 * 1024 * 1024 + 5;
    const bytes = pattern(N, 7);
    const signed = await registerFile(worker, e, 'dl-model', bytes);

    const full = await fetchWorker(worker, e, signed);
    expect(full.res.status).toBe(200);
    expect(full.res.headers.get('content-length')).toBe(String(N));
    expect(full.res.headers.get('transfer-encoding')).toBeNull();
    expect(equalBytes(full.body, bytes)).toBe(true);
    const served = await lastDownload();
    expect(served).toMatchObject({ bytes: N, status: 200 });

    const part = await fetchWorker(worker, e, signed, { headers: { Range: 'bytes=100-199' } });
    expect(part.res.status).toBe(206);
    expect(part.res.headers.get('content-length')).toBe('100');
    expect(equalBytes(part.body, bytes.slice(100, 200))).toBe(true);

    // The client reads one chunk and goes away (its request signal aborts, as workerd does on disconnect).
    const client = new AbortController();
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request(`http://localhost${signed}`, { signal: client.signal }), e, ctx);
    const reader = res.body!.getReader();
    await reader.read();
    client.abort();
    await reader.cancel('client went away');
    await waitOnExecutionContext(ctx);
    const left = await lastDownload();
    expect(left.id).not.toBe(served.id);
    expect(left.detail).toContain('aborted: client_abort');
  });
});

async function auditCount(): Promise<number> {
  return (await (env.DB as D1Database).prepare('SELECT COUNT(*) AS n FROM audit').first<{ n: number }>())!.n;
}

async function lastDownload(): Promise<{ id: number; bytes: number; status: number; detail: string }> {
  return (await (env.DB as D1Database).prepare(`SELECT id, bytes, status, detail FROM audit WHERE action = 'download' ORDER BY id DESC LIMIT 1`).first())!;
}

/** Uploads `bytes` as <name>/model/weights.bin, registers version 1 and returns a signed download path. */
async function registerFile(worker: ReturnType<typeof createWorker>, e: WorkerEnv, name: string, bytes: Uint8Array): Promise<string> {
  const ok = async (method: string, path: string, body?: BodyInit, json = true) => {
    const r = await fetchWorker(worker, e, path, { method, headers: { ...auth, ...(json ? { 'Content-Type': 'application/json' } : {}) }, ...(body === undefined ? {} : { body }) });
    const text = new TextDecoder().decode(r.body);
    if (r.res.status !== 200) throw new Error(`${method} ${path} -> ${r.res.status} ${text}`);
    return text ? JSON.parse(text) : {};
  };
  const area = `/databricks/mlflow/tmp-external-source/${name}`;
  await ok('POST', '/api/2.0/mlflow/registered-models/create', JSON.stringify({ name }));
  await ok('POST', `/dbfs${area}/model/weights.bin`, bytes as Uint8Array<ArrayBuffer>, false);
  await ok('POST', '/api/2.0/mlflow/model-versions/create', JSON.stringify({ name, source: `dbfs:${area}/model` }));
  const q = new URLSearchParams({ name, version: '1', path: 'weights.bin' });
  const uri = (await ok('GET', `/api/2.0/mlflow/model-versions/get-signed-download-uri?${q}`)).signed_uri as string;
  return uri.replace(/^https?:\/\/[^/]+/, '');
}

describe('the Cron Trigger', () => {
  it('expires uploads never registered after 24 h, rows and R2 objects, and leaves newer ones', async () => {
    const clock = manualClock(Date.UTC(2026, 10, 23, 12));
    const worker = createWorker({ clock, timers: manualTimers() });
    const e = workerEnv();
    const up = async (p: string) =>
      expect((await fetchWorker(worker, e, `/dbfs/databricks/mlflow/tmp-external-source/cron/${p}`, { method: 'POST', headers: auth, body: 'x' })).res.status).toBe(200);
    await up('old.bin');
    clock.advance(23 * 3600 * 1000);
    await up('new.bin');
    clock.advance(2 * 3600 * 1000); // old.bin is 25 h old, new.bin 2 h
    const keys = async () => ((await (env.DB as D1Database).prepare(`SELECT object_key FROM uploads WHERE object_key LIKE '%/cron/%' ORDER BY object_key`).all<{ object_key: string }>()).results ?? []).map((r) => r.object_key);
    const [newKey, oldKey] = await keys();
    expect(oldKey).toMatch(/old\.bin$/);
    const ctx = createExecutionContext();
    await worker.scheduled({}, e, ctx);
    await waitOnExecutionContext(ctx);
    expect(await keys()).toEqual([newKey]);
    const bucket = env.ARTIFACTS as { head(k: string): Promise<unknown> };
    expect(await bucket.head(oldKey!)).toBeNull();
    expect(await bucket.head(newKey!)).not.toBeNull();
  });
});

describe('registry webhooks on the Worker', () => {
  it('a write that queues a delivery is followed by a delivery attempt through ctx.waitUntil, not the cron', async () => {
    const worker = createWorker({ timers: manualTimers() });
    const e = workerEnv({ REGATE_EXTERNAL_SOURCE_PREFIXES: 's3://' });
    const ok = async (path: string, body: unknown) => {
      const r = await fetchWorker(worker, e, path, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      expect(r.res.status, new TextDecoder().decode(r.body)).toBe(200);
    };
    await ok('/api/2.0/mlflow/registered-models/create', { name: 'hooked' });
    // An unreachable receiver (no network in the test runtime): the attempt fails and is rescheduled.
    await ok('/api/2.0/mlflow/registry-webhooks/create', { model_name: 'hooked', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: 'https://hooks.example.invalid/x', secret: 's' } });
    await ok('/api/2.0/mlflow/model-versions/create', { name: 'hooked', source: 's3://b/m' });
    const row = await (env.DB as D1Database).prepare(`SELECT attempts FROM webhook_outbox WHERE event = 'MODEL_VERSION_CREATED'`).first<{ attempts: number }>();
    const tried = await (env.DB as D1Database).prepare('SELECT COUNT(*) AS n FROM webhook_deliveries').first<{ n: number }>();
    // Either still queued with one attempt made, or recorded as tried; never untouched until a cron run.
    expect((row?.attempts ?? 0) + (tried?.n ?? 0)).toBeGreaterThan(0);
  });
});
