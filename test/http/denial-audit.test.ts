/**
 * Every kind of refusal leaves one `denied` (or `raw_path_refused`) row in the audit trail, with the caller
 * and, where one is involved, the model: the README promises that denials are recorded, and the permission
 * gate is the one place they are decided. Each case is checked against a fresh count of rows.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { makeHarness, type Harness, type Identity } from '../helpers/harness.ts';

const AREA = '/databricks/mlflow/tmp-external-source';
const MLFLOW = '/api/2.0/mlflow';

let h: Harness;
let owner: Identity;
let reader: Identity;
let outsider: Identity;
let modelId: string;
let storageId: string;

interface AuditRow {
  principal_id: string | null;
  action: string;
  model_id: string | null;
  status: number;
  detail: string;
}

/** The audit rows a call added. */
async function rowsOf(call: () => Promise<{ status: number }>, expectStatus: number): Promise<AuditRow[]> {
  await h.deps.audit.flush();
  const before = (await h.db.prepare('SELECT MAX(id) AS id FROM audit').first<{ id: number | null }>())?.id ?? 0;
  const r = await call();
  expect(r.status).toBe(expectStatus);
  await h.deps.audit.flush();
  return h.db.prepare('SELECT principal_id, action, model_id, status, detail FROM audit WHERE id > ? ORDER BY id').bind(before).all<AuditRow>();
}

beforeAll(async () => {
  h = await makeHarness({ env: {} });
  owner = await h.user('owner@x');
  reader = await h.user('reader@x');
  outsider = await h.user('outsider@x');
  await h.expectOk('POST', `${MLFLOW}/registered-models/create`, { token: owner.token, body: { name: 'm' } });
  await h.call('POST', `/dbfs${AREA}/r1/model/MLmodel`, { token: owner.token, rawBody: 'x' });
  const v = await h.expectOk('POST', `${MLFLOW}/model-versions/create`, { token: owner.token, body: { name: 'm', source: `dbfs:${AREA}/r1/model` } });
  storageId = /mlflow-registry\/([0-9a-f]{32})\//.exec(JSON.stringify(await h.expectOk('GET', `${MLFLOW}/model-versions/get-download-uri`, { token: owner.token, query: { name: 'm', version: '1' } })))![1]!;
  expect(v.model_version.version).toBe('1');
  const m = await h.expectOk('GET', `${MLFLOW}/databricks/registered-models/get`, { query: { name: 'm' } });
  modelId = m.registered_model_databricks.id;
  await h.expectOk('PATCH', `/api/2.0/permissions/registered-models/${modelId}`, {
    body: { access_control_list: [{ user_name: 'reader@x', permission_level: 'CAN_READ' }] },
  });
  await h.expectOk('POST', `${MLFLOW}/transition-requests/create`, { token: reader.token, body: { name: 'm', version: '1', stage: 'Production' } });
});

const expectDenied = (rows: AuditRow[], who: Identity, opts: { model?: boolean; status: number; action?: string }) => {
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ principal_id: who.id, action: opts.action ?? 'denied', status: opts.status });
  if (opts.model !== false) expect(rows[0]!.model_id).toBe(modelId);
};

describe('each refusal kind leaves a denied audit row', () => {
  it('a transition above the caller level', async () => {
    const rows = await rowsOf(() => h.call('POST', `${MLFLOW}/model-versions/transition-stage`, { token: reader.token, body: { name: 'm', version: '1', stage: 'Staging', archive_existing_versions: false } }), 403);
    expectDenied(rows, reader, { status: 403 });
  });

  it('an approval by a reader', async () => {
    const rows = await rowsOf(() => h.call('POST', `${MLFLOW}/transition-requests/approve`, { token: reader.token, body: { name: 'm', version: '1', stage: 'Production', archive_existing_versions: false } }), 403);
    expectDenied(rows, reader, { status: 403 });
  });

  it('a rejection by a reader', async () => {
    const rows = await rowsOf(() => h.call('POST', `${MLFLOW}/transition-requests/reject`, { token: reader.token, body: { name: 'm', version: '1', stage: 'Production' } }), 403);
    expectDenied(rows, reader, { status: 403 });
  });

  it('a permissions PATCH by a reader', async () => {
    const rows = await rowsOf(() => h.call('PATCH', `/api/2.0/permissions/registered-models/${modelId}`, { token: reader.token, body: { access_control_list: [{ user_name: 'outsider@x', permission_level: 'CAN_READ' }] } }), 403);
    expectDenied(rows, reader, { status: 403 });
  });

  it('an outsider asking for a signed URI (answered as a missing model)', async () => {
    const rows = await rowsOf(() => h.call('GET', `${MLFLOW}/model-versions/get-signed-download-uri`, { token: outsider.token, query: { name: 'm', version: '1', path: 'MLmodel' } }), 404);
    expectDenied(rows, outsider, { status: 404 });
  });

  it('an outsider listing artifacts', async () => {
    const rows = await rowsOf(() => h.call('GET', `${MLFLOW}/model-versions/list-artifacts`, { token: outsider.token, query: { name: 'm', version: '1' } }), 404);
    expectDenied(rows, outsider, { status: 404 });
  });

  it('an outsider reading metadata', async () => {
    const rows = await rowsOf(() => h.call('GET', `${MLFLOW}/registered-models/get`, { token: outsider.token, query: { name: 'm' } }), 404);
    expectDenied(rows, outsider, { status: 404 });
  });

  it('an outsider reading managed files through the DBFS API', async () => {
    const path = `dbfs:/databricks/mlflow-registry/${storageId}/models/model/MLmodel`;
    const rows = await rowsOf(() => h.call('GET', '/api/2.0/dbfs/read', { token: outsider.token, query: { path } }), 404);
    expectDenied(rows, outsider, { status: 404 });
  });

  it('a download with a URI whose holder lost access', async () => {
    await h.expectOk('PATCH', `/api/2.0/permissions/registered-models/${modelId}`, {
      body: { access_control_list: [{ user_name: 'outsider@x', permission_level: 'CAN_READ' }] },
    });
    const signed = await h.expectOk('GET', `${MLFLOW}/model-versions/get-signed-download-uri`, { token: outsider.token, query: { name: 'm', version: '1', path: 'MLmodel' } });
    await h.expectOk('PUT', `/api/2.0/permissions/registered-models/${modelId}`, {
      body: { access_control_list: [{ user_name: 'reader@x', permission_level: 'CAN_READ' }] },
    });
    const uri = signed.signed_uri as string;
    const rows = await rowsOf(async () => h.app.request(uri.slice(uri.indexOf('/api/'))), 404);
    expectDenied(rows, outsider, { status: 404 });
  });

  it('a comment edit by someone other than its author', async () => {
    const c = await h.expectOk('POST', `${MLFLOW}/comments/create`, { body: { name: 'm', version: '1', comment: 'hi' } });
    const rows = await rowsOf(() => h.call('PATCH', `${MLFLOW}/comments/update`, { token: reader.token, body: { id: c.comment.id, comment: 'x' } }), 403);
    expectDenied(rows, reader, { status: 403, model: false });
  });

  it('an admin-only route called by a user', async () => {
    const rows = await rowsOf(() => h.call('GET', '/api/2.0/preview/scim/v2/Users', { token: reader.token }), 403);
    expectDenied(rows, reader, { status: 403, model: false });
  });

  it('a raw read of managed storage', async () => {
    const rows = await rowsOf(() => h.call('GET', `/dbfs/databricks/mlflow-registry/${storageId}/models/model/MLmodel`, { token: reader.token }), 403);
    expectDenied(rows, reader, { status: 403, model: false, action: 'raw_path_refused' });
  });

  it('no audit row for a request that is allowed, or for a model that really does not exist', async () => {
    expect(await rowsOf(() => h.call('GET', `${MLFLOW}/registered-models/get`, { token: reader.token, query: { name: 'm' } }), 200)).toEqual([]);
    expect(await rowsOf(() => h.call('GET', `${MLFLOW}/registered-models/get`, { token: reader.token, query: { name: 'nope' } }), 404)).toEqual([]);
  });
});
