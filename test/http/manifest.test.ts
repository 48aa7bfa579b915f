/**
 * `GET /api/2.0/regate/model-versions/manifest` (issue 11 §2) in process on the Node runtime: every file's path,
 * size, SHA-256 and a working signed URI, paged by keyset; the URIs' lifetime stated; CAN_READ as
 * get-signed-download-uri (a reader without it learns nothing, and the refusal is audited); one audit row per
 * page; a constant number of SQL statements per page, whatever the page size.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { createDeps } from '../../src/http/deps.ts';
import { createLruCache } from '../../src/adapters/lru/lru-cache.ts';
import { makeHarness, T0, type Harness, type Identity } from '../helpers/harness.ts';
import { countingDb } from '../helpers/counting-db.ts';
import { manualTimers } from '../helpers/manual-timers.ts';

const AREA = '/databricks/mlflow/tmp-external-source';
const MANIFEST = '/api/2.0/regate/model-versions/manifest';
const sha = (b: string) => createHash('sha256').update(b).digest('hex');

/** 25 files in nested directories, bodies of different sizes. */
const FILES: Record<string, string> = Object.fromEntries(
  Array.from({ length: 25 }, (_, i) => [`${i % 3 === 0 ? 'data/' : ''}${i % 5 === 0 ? 'deep/x/' : ''}f${String(i).padStart(2, '0')}.bin`, `file ${i} `.repeat(i + 1)]),
);

interface ManifestJson {
  name: string;
  version: string;
  files: Array<{ path: string; size: number; sha256: string | null; signed_uri: string }>;
  ttl_seconds: number;
  expires_at: number;
  next_page_token?: string;
}

let h: Harness;
let reader: Identity;
let stranger: Identity;
let modelId: string;

async function manifest(who: Identity | null, query: Record<string, string>) {
  return h.call('GET', MANIFEST, { token: who ? who.token : null, query });
}

async function allPages(who: Identity, pageSize: number): Promise<ManifestJson[]> {
  const pages: ManifestJson[] = [];
  let token: string | undefined;
  do {
    const r = await manifest(who, { name: 'big', version: '1', max_results: String(pageSize), ...(token ? { page_token: token } : {}) });
    expect(r.status, r.text).toBe(200);
    pages.push(r.json as ManifestJson);
    token = (r.json as ManifestJson).next_page_token;
  } while (token);
  return pages;
}

beforeAll(async () => {
  h = await makeHarness({ env: {} });
  reader = await h.user('reader@x');
  stranger = await h.user('stranger@x');
  await h.expectOk('POST', '/api/2.0/mlflow/registered-models/create', { body: { name: 'big' } });
  for (const [rel, body] of Object.entries(FILES)) await h.expectOk('POST', `/dbfs${AREA}/r1/model/${rel}`, { rawBody: body });
  await h.expectOk('POST', '/api/2.0/mlflow/model-versions/create', { body: { name: 'big', source: `dbfs:${AREA}/r1/model` } });
  const m = await h.expectOk('GET', '/api/2.0/mlflow/databricks/registered-models/get', { query: { name: 'big' } });
  modelId = m.registered_model_databricks.id;
  await h.expectOk('PATCH', `/api/2.0/permissions/registered-models/${modelId}`, {
    body: { access_control_list: [{ user_name: 'reader@x', permission_level: 'CAN_READ' }] },
  });
});

describe('version manifest', () => {
  it('lists every file once, in path order, across pages, with size, SHA-256 and a URI that downloads it', async () => {
    const pages = await allPages(reader, 10);
    expect(pages.map((p) => p.files.length)).toEqual([10, 10, 5]);
    const files = pages.flatMap((p) => p.files);
    const paths = Object.keys(FILES).sort();
    expect(files.map((f) => f.path)).toEqual(paths);
    for (const f of files) {
      expect(f.size).toBe(FILES[f.path]!.length);
      expect(f.sha256).toBe(sha(FILES[f.path]!));
      const res = await h.app.request(f.signed_uri);
      expect(res.status).toBe(200);
      expect(sha(await res.text())).toBe(f.sha256);
    }
    for (const p of pages) {
      expect(p).toMatchObject({ name: 'big', version: '1', ttl_seconds: 300, expires_at: T0 / 1000 + 300, expires_in: 300 });
    }
    // One page holds them all by default (up to 10,000).
    const whole = await manifest(reader, { name: 'big', version: '1' });
    expect((whole.json as ManifestJson).files).toHaveLength(25);
    expect((whole.json as ManifestJson).next_page_token).toBeUndefined();
  });

  it('needs CAN_READ: a caller without it gets what a missing model answers, and the refusal is audited', async () => {
    const r = await manifest(stranger, { name: 'big', version: '1' });
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ error_code: 'RESOURCE_DOES_NOT_EXIST' });
    expect(r.text).not.toContain('signed_uri');
    const missing = await manifest(stranger, { name: 'nope', version: '1' });
    expect([missing.status, missing.json]).toEqual([r.status, { ...(r.json as object), message: expect.any(String) }]);
    await h.deps.audit.flush();
    const denied = await h.db
      .prepare("SELECT COUNT(*) AS n FROM audit WHERE action = 'denied' AND principal_id = ? AND model_id = ?")
      .bind(stranger.id, modelId)
      .first<{ n: number }>();
    expect(denied!.n).toBeGreaterThanOrEqual(1);
    expect((await manifest(null, { name: 'big', version: '1' })).status).toBe(401);
    expect((await manifest(reader, { name: 'big', version: '2' })).status).toBe(404);
  });

  it('writes one audit row per page, naming the version, the URIs and the bytes', async () => {
    await h.deps.audit.flush();
    const count = async () =>
      (await h.db.prepare("SELECT COUNT(*) AS n FROM audit WHERE action = 'sign_uri' AND principal_id = ?").bind(reader.id).first<{ n: number }>())!.n;
    const before = await count();
    await allPages(reader, 10);
    await h.deps.audit.flush();
    expect((await count()) - before).toBe(3);
    const last = await h.db
      .prepare("SELECT model_id, version, bytes, detail FROM audit WHERE action = 'sign_uri' AND principal_id = ? ORDER BY id DESC LIMIT 1")
      .bind(reader.id)
      .first<{ model_id: string; version: number; bytes: number; detail: string }>();
    const lastFive = Object.keys(FILES).sort().slice(20);
    expect(last).toMatchObject({ model_id: modelId, version: 1, bytes: lastFive.reduce((n, p) => n + FILES[p]!.length, 0) });
    expect(last!.detail).toMatch(/^manifest: 5 URIs after /);
  });

  it('refuses a page token it did not make, and a page size over 10,000', async () => {
    for (const page_token of ['x', 'eyJhZnRlciI6MX0', 'eyJhZnRlciI6ImEifQ==']) {
      const r = await manifest(reader, { name: 'big', version: '1', page_token });
      expect(r.status, page_token).toBe(400);
      expect(r.json).toMatchObject({ error_code: 'INVALID_PARAMETER_VALUE' });
    }
    expect((await manifest(reader, { name: 'big', version: '1', max_results: '10001' })).status).toBe(400);
  });

  it('costs the same few SQL statements per page, warm, whatever its size', async () => {
    const db = countingDb(h.db);
    const { clock, logger, config, workspaceId, objectStore, keyRing } = h.deps;
    const deps = createDeps({ db, clock, logger, config, workspaceId, objectStore, keyRing, timers: manualTimers(), cache: <V extends object>(max: number) => createLruCache<V>({ max, clock }) });
    const app = createApp(deps);
    const get = (q: Record<string, string>) =>
      app.request(`${MANIFEST}?${new URLSearchParams({ name: 'big', version: '1', ...q })}`, { headers: { Authorization: `Bearer ${reader.token}` } });
    await (await get({})).arrayBuffer();
    const counts: number[] = [];
    for (const q of [{}, { max_results: '2' }, { max_results: '2', page_token: (await (await get({ max_results: '2' })).json()).next_page_token }]) {
      db.reset();
      const res = await get(q as Record<string, string>);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      counts.push(db.log.length);
    }
    // The workspace epochs, the model, the version, the page of files: nothing per file.
    expect(counts.every((n) => n === counts[0]), String(counts)).toBe(true);
    expect(counts[0]).toBeLessThanOrEqual(4);
  });
});
