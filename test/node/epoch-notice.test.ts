/**
 * The Node epoch source (src/adapters/sqlite/epoch-notice.ts) with two instances over one data directory, each
 * with its own SQLite connection, caches and notice reader, on a manual clock:
 * - warm hot requests (signing, registered-models/get, a ranged download start) run no SQL statement at all;
 * - a change made through instance A (a grant revoked, a token revoked, a version deleted, a tag set) is seen by
 *   the very next request on instance B, with the clock standing still;
 * - a change the notice cannot announce (rows changed by another connection, as the sqlite3 shell would) is
 *   seen once MAX_AGE_MS has passed, and not before;
 * - a notice that cannot be read makes every request read the epochs from SQLite.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createApp } from '../../src/http/app.ts';
import { createNodeDeps } from '../../src/runtime/node-deps.ts';
import { manualClock } from '../../src/core/clock.ts';
import { MAX_AGE_MS } from '../../src/adapters/sqlite/epoch-notice.ts';
import { apiClient, recordingLogger, T0, type Identity } from '../helpers/harness-core.ts';
import { manualTimers } from '../helpers/manual-timers.ts';

const ADMIN = 'dapi' + 'a'.repeat(32);
const AREA = '/databricks/mlflow/tmp-external-source';
const MLFLOW = '/api/2.0/mlflow';
type Made = Awaited<ReturnType<typeof createNodeDeps>>;

let dir: string;
let clock: ReturnType<typeof manualClock>;
let a: Made;
let b: Made;
let appB: ReturnType<typeof createApp>;
let onA: ReturnType<typeof apiClient>;
let bo: Identity;
let modelId: string;
/** SQL texts instance B compiled or ran (every statement of SqliteDb goes through `compiled`). */
let bSql: string[];

async function instance(): Promise<Made> {
  return createNodeDeps({
    dataDir: dir,
    env: { REGATE_ADMIN_TOKEN: ADMIN, REGATE_SWEEP_INTERVAL_SECONDS: '0' },
    clock,
    logger: recordingLogger().logger,
    timers: manualTimers(), // no audit flush while statements are counted
  });
}

async function onB(path: string, query: Record<string, string>, headers: Record<string, string> = {}) {
  return appB.request(`${path}?${new URLSearchParams(query)}`, { headers: { Authorization: `Bearer ${bo.token}`, ...headers } });
}

const SIGN = { name: 'm', version: '1', path: 'data/w.bin' };

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'regate-notice-'));
  clock = manualClock(T0);
  a = await instance();
  b = await instance();
  const appA = createApp(a.deps);
  appB = createApp(b.deps);
  onA = apiClient(async (_p, url, init) => {
    const res = await appA.request(url.toString().replace('http://regate.test', ''), init);
    return { status: res.status, text: await res.text(), headers: res.headers };
  }, ADMIN);
  bo = await onA.user('bo@x');
  await onA.expectOk('POST', `${MLFLOW}/registered-models/create`, { body: { name: 'm' } });
  await onA.call('POST', `/dbfs${AREA}/r1/model/MLmodel`, { rawBody: 'x' });
  await onA.call('POST', `/dbfs${AREA}/r1/model/data/w.bin`, { rawBody: 'w'.repeat(5000) });
  await onA.expectOk('POST', `${MLFLOW}/model-versions/create`, { body: { name: 'm', source: `dbfs:${AREA}/r1/model` } });
  modelId = (await onA.expectOk('GET', `${MLFLOW}/databricks/registered-models/get`, { query: { name: 'm' } })).registered_model_databricks.id;
  await onA.expectOk('PATCH', `/api/2.0/permissions/registered-models/${modelId}`, {
    body: { access_control_list: [{ user_name: 'bo@x', permission_level: 'CAN_READ' }] },
  });
  bSql = [];
  const compiled = b.db.compiled.bind(b.db);
  b.db.compiled = (sql: string) => {
    bSql.push(sql);
    return compiled(sql);
  };
});

afterEach(async () => {
  await a.close();
  await b.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `req` once to warm B, then again with B's statements counted. */
async function warm(req: () => Promise<Response> | Response): Promise<{ res: Response; sql: string[] }> {
  const first = await req();
  expect(first.status, await first.clone().text()).toBeLessThan(300);
  await first.arrayBuffer();
  bSql.length = 0;
  const res = await req();
  return { res, sql: [...bSql] };
}

describe('Node epoch notice: no SQL when warm, every change seen at once', () => {
  it('warm signing, registered-models/get and a ranged download start run no statement', async () => {
    const sign = await warm(() => onB(`${MLFLOW}/model-versions/get-signed-download-uri`, SIGN));
    expect(sign.res.status).toBe(200);
    expect(sign.sql).toEqual([]);
    const uri = ((await sign.res.json()) as { signed_uri: string }).signed_uri;
    const get = await warm(() => onB(`${MLFLOW}/registered-models/get`, { name: 'm' }));
    expect(get.res.status).toBe(200);
    expect(get.sql).toEqual([]);
    const path = uri.slice(uri.indexOf('/api/'));
    const dl = await warm(() => appB.request(path, { headers: { Range: 'bytes=10-19' } }));
    expect(dl.res.status).toBe(206);
    expect(await dl.res.text()).toBe('w'.repeat(10));
    expect(dl.sql).toEqual([]);
  });

  it('a grant revoked on A: the next signing call and download on B are refused, the clock standing still', async () => {
    const first = await onB(`${MLFLOW}/model-versions/get-signed-download-uri`, SIGN);
    expect(first.status).toBe(200);
    const uri = ((await first.json()) as { signed_uri: string }).signed_uri;
    expect((await onB(`${MLFLOW}/model-versions/get-signed-download-uri`, SIGN)).status).toBe(200); // memoised
    await onA.expectOk('PUT', `/api/2.0/permissions/registered-models/${modelId}`, { body: { access_control_list: [] } });
    expect((await onB(`${MLFLOW}/model-versions/get-signed-download-uri`, SIGN)).status).toBe(404);
    expect((await appB.request(uri.slice(uri.indexOf('/api/')))).status).toBe(404);
  });

  it('a token revoked on A is refused by B at its next request', async () => {
    expect((await onB(`${MLFLOW}/registered-models/get`, { name: 'm' })).status).toBe(200);
    const list = await onA.expectOk('GET', '/api/2.0/token-management/tokens');
    const tokenId = (list.token_infos as Array<{ token_id: string; owner_id: number }>).find((t) => String(t.owner_id) === bo.id)!.token_id;
    await onA.expectOk('DELETE', `/api/2.0/token-management/tokens/${tokenId}`);
    expect((await onB(`${MLFLOW}/registered-models/get`, { name: 'm' })).status).toBe(401);
  });

  it('registry writes on A (a tag, a version deleted) show in B’s next answer', async () => {
    const before = await (await onB(`${MLFLOW}/registered-models/get`, { name: 'm' })).json();
    expect(JSON.stringify(before)).not.toContain('stage-tag');
    await onA.expectOk('POST', `${MLFLOW}/registered-models/set-tag`, { body: { name: 'm', key: 'stage-tag', value: 'v' } });
    expect(JSON.stringify(await (await onB(`${MLFLOW}/registered-models/get`, { name: 'm' })).json())).toContain('stage-tag');
    expect((await onB(`${MLFLOW}/model-versions/get-signed-download-uri`, SIGN)).status).toBe(200);
    await onA.expectOk('DELETE', `${MLFLOW}/model-versions/delete`, { body: { name: 'm', version: '1' } });
    expect((await onB(`${MLFLOW}/model-versions/get-signed-download-uri`, SIGN)).status).toBe(404);
  });

  it('a change made outside regate (no notice) is seen within MAX_AGE_MS, not before', async () => {
    expect((await onB(`${MLFLOW}/model-versions/get-signed-download-uri`, SIGN)).status).toBe(200);
    const raw = new DatabaseSync(join(dir, 'regate.sqlite'));
    try {
      raw.prepare('DELETE FROM grants WHERE principal_id = ?').run(bo.id);
    } finally {
      raw.close();
    }
    clock.advance(MAX_AGE_MS - 1);
    expect((await onB(`${MLFLOW}/model-versions/get-signed-download-uri`, SIGN)).status).toBe(200);
    clock.advance(1);
    expect((await onB(`${MLFLOW}/model-versions/get-signed-download-uri`, SIGN)).status).toBe(404);
  });

  it('a notice that changes for any reason (even a torn or foreign write) makes B read the epochs again', async () => {
    expect((await onB(`${MLFLOW}/registered-models/get`, { name: 'm' })).status).toBe(200);
    bSql.length = 0;
    expect((await onB(`${MLFLOW}/registered-models/get`, { name: 'm' })).status).toBe(200);
    expect(bSql).toEqual([]);
    writeFileSync(join(dir, 'regate.sqlite-epochs'), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
    expect((await onB(`${MLFLOW}/registered-models/get`, { name: 'm' })).status).toBe(200);
    expect(bSql.filter((s) => s.includes('FROM meta'))).toHaveLength(1);
  });
});
