/**
 * SQL round trips per hot request, enforced (on Workers every statement is a network round trip to D1), with
 * the portable epoch source (one statement per request; the Node notice source makes it none, which
 * test/node/epoch-notice.test.ts checks):
 * - a warm get-signed-download-uri makes 1 statement (the workspace epochs; model, version and file come from
 *   the data cache under the data epoch), the issue's budget being 2;
 * - a download start 1 (the epochs), whatever the range, budget 2;
 * - a warm registered-models/get 1 (the epochs);
 * - an authenticated metadata read at most 1 beyond the statements that read its own data: only one of its
 *   statements may touch what authentication and authorization read (meta, tokens, principals, groups, grants).
 * Audit rows of these requests are not written by the request: they wait for the group commit, which writes
 * them all in one batch. The app under test runs on a counting wrapper of the real SQLite port.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { createDeps } from '../../src/http/deps.ts';
import { createLruCache } from '../../src/adapters/lru/lru-cache.ts';
import type { Deps } from '../../src/http/env.ts';
import { makeHarness, type Harness, type Identity } from '../helpers/harness.ts';
import { countingDb, type CountingDb } from '../helpers/counting-db.ts';
import { manualTimers } from '../helpers/manual-timers.ts';
import { AUDIT_ROWS_PER_INSERT } from '../../src/core/audit.ts';

const AREA = '/databricks/mlflow/tmp-external-source';
const MLFLOW = '/api/2.0/mlflow';
/** Tables whose reads are authentication or authorization, not a route's own data. */
const AUTH_TABLES = /\b(meta|tokens|principals|group_members|grants)\b/;

let h: Harness;
let db: CountingDb;
let deps: Deps;
let app: ReturnType<typeof createApp>;
let bo: Identity;
let modelId: string;

async function onB(method: string, path: string, token: string, query: Record<string, string> = {}, headers: Record<string, string> = {}) {
  const qs = new URLSearchParams(query).toString();
  return app.request(`${path}${qs ? `?${qs}` : ''}`, { method, headers: { Authorization: `Bearer ${token}`, ...headers } });
}

/** Statements one warm request makes: the request runs once to warm the caches, then is counted. */
async function warmCount(run: () => Promise<Response>): Promise<{ res: Response; sql: string[] }> {
  const first = await run();
  expect(first.status, await first.clone().text()).toBeLessThan(300);
  await first.arrayBuffer();
  db.reset();
  const res = await run();
  const sql = [...db.log];
  return { res, sql };
}

beforeAll(async () => {
  h = await makeHarness({ env: {} });
  db = countingDb(h.db);
  const { clock, logger, config, workspaceId, objectStore, keyRing } = h.deps;
  // A second instance over the same database, with its own caches and a manual timer for the group commit,
  // so no audit flush runs while a request is being counted.
  deps = createDeps({
    db, clock, logger, config, workspaceId, objectStore, keyRing,
    timers: manualTimers(),
    cache: <V extends object>(max: number) => createLruCache<V>({ max, clock }),
  });
  app = createApp(deps);
  const ana = await h.user('ana@x');
  bo = await h.user('bo@x');
  await h.group('readers', [bo.id]);
  await h.expectOk('POST', `${MLFLOW}/registered-models/create`, { token: ana.token, body: { name: 'm' } });
  await h.call('POST', `/dbfs${AREA}/r1/model/MLmodel`, { token: ana.token, rawBody: 'x'.repeat(1000) });
  await h.call('POST', `/dbfs${AREA}/r1/model/data/weights.bin`, { token: ana.token, rawBody: 'w'.repeat(5000) });
  await h.expectOk('POST', `${MLFLOW}/model-versions/create`, { token: ana.token, body: { name: 'm', source: `dbfs:${AREA}/r1/model` } });
  const m = await h.expectOk('GET', `${MLFLOW}/databricks/registered-models/get`, { query: { name: 'm' } });
  modelId = m.registered_model_databricks.id;
  await h.expectOk('PATCH', `/api/2.0/permissions/registered-models/${modelId}`, {
    body: { access_control_list: [{ group_name: 'readers', permission_level: 'CAN_READ' }] },
  });
});

describe('statement budgets of hot requests', () => {
  it('get-signed-download-uri: 1 statement, warm (budget 2)', async () => {
    const { res, sql } = await warmCount(() => onB('GET', `${MLFLOW}/model-versions/get-signed-download-uri`, bo.token, { name: 'm', version: '1', path: 'data/weights.bin' }));
    expect(res.status).toBe(200);
    expect(sql.length, sql.join('\n---\n')).toBeLessThanOrEqual(1);
  });

  it('a download start: 1 statement, warm, for full and ranged GETs (budget 2)', async () => {
    const signed = await onB('GET', `${MLFLOW}/model-versions/get-signed-download-uri`, bo.token, { name: 'm', version: '1', path: 'data/weights.bin' });
    const uri = ((await signed.json()) as { signed_uri: string }).signed_uri;
    const path = uri.slice(uri.indexOf('/api/'));
    for (const headers of [{}, { Range: 'bytes=100-100' }] as Array<Record<string, string>>) {
      const { res, sql } = await warmCount(async () => app.request(path, { headers }));
      expect(res.status).toBe('Range' in headers ? 206 : 200);
      expect(sql.length, sql.join('\n---\n')).toBeLessThanOrEqual(1);
      expect((await res.arrayBuffer()).byteLength).toBe('Range' in headers ? 1 : 5000);
    }
  });

  it.each([
    ['registered-models/get', { name: 'm' }],
    ['databricks/registered-models/get', { name: 'm' }],
    ['model-versions/get', { name: 'm', version: '1' }],
    ['model-versions/get-download-uri', { name: 'm', version: '1' }],
    ['registered-models/get-latest-versions', { name: 'm' }],
    ['model-versions/list-artifacts', { name: 'm', version: '1' }],
    ['transition-requests/list', { name: 'm', version: '1' }],
  ])('%s: at most 1 statement beyond its own data, warm', async (route, query) => {
    const { res, sql } = await warmCount(() => onB('GET', `${MLFLOW}/${route}`, bo.token, query));
    expect(res.status).toBe(200);
    const auth = sql.filter((s) => AUTH_TABLES.test(s));
    expect(auth.length, auth.join('\n---\n')).toBeLessThanOrEqual(1);
  });

  it('registered-models/get: 1 statement, warm (the epochs; the answer comes from the memo)', async () => {
    const { res, sql } = await warmCount(() => onB('GET', `${MLFLOW}/registered-models/get`, bo.token, { name: 'm' }));
    expect(res.status).toBe(200);
    expect(sql, sql.join('\n---\n')).toHaveLength(1);
    expect(sql[0]).toContain('FROM meta');
  });

  it('the audit rows of those requests are written later, together, in one batch', async () => {
    const pending = deps.audit.pending;
    expect(pending).toBeGreaterThan(2);
    db.reset();
    await deps.audit.flush();
    expect(deps.audit.pending).toBe(0);
    expect(db.log).toHaveLength(Math.ceil(pending / AUDIT_ROWS_PER_INSERT));
    expect(db.log.every((s) => s.startsWith('INSERT INTO audit'))).toBe(true);
    const rows = await h.db.prepare(`SELECT COUNT(*) AS n FROM audit WHERE principal_id = ?`).bind(bo.id).first<{ n: number }>();
    expect(rows!.n).toBeGreaterThanOrEqual(pending);
  });
});
