/**
 * The revocation bound across instances (README "Revocation"), on an injected clock: two regate instances
 * share one database, each with its own caches (tokens, principals, decisions, verified download tokens).
 * A change made through instance A is seen by instance B at its next request, for everything: every request
 * reads the workspace epochs, and every decision compares them and the model's epoch.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { DEFAULT_ALLOW_TTL_MS } from '../../src/core/access/acl-cache.ts';
import { createLruCache } from '../../src/adapters/lru/lru-cache.ts';
import { createDeps } from '../../src/http/deps.ts';
import { makeHarness, type Harness, type Identity } from '../helpers/harness.ts';

const AREA = '/databricks/mlflow/tmp-external-source';
const MV = '/api/2.0/mlflow/model-versions';
let h: Harness;
let b: ReturnType<typeof createApp>;
let ana: Identity;
let bo: Identity;
let group: { id: string };

async function onB(path: string, token: string, query: Record<string, string>) {
  const res = await b.request(`${path}?${new URLSearchParams(query)}`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

beforeEach(async () => {
  h = await makeHarness({ env: {} });
  const { db, clock, logger, config, workspaceId, objectStore, keyRing, timers } = h.deps;
  b = createApp(
    createDeps({ db, clock, logger, config, workspaceId, objectStore, keyRing, timers, cache: <V extends object>(max: number) => createLruCache<V>({ max, clock }) }),
  );
  ana = await h.user('ana@x');
  bo = await h.user('bo@x');
  group = await h.group('readers', [bo.id]);
  await h.expectOk('POST', '/api/2.0/mlflow/registered-models/create', { token: ana.token, body: { name: 'm' } });
  await h.call('POST', `/dbfs${AREA}/r1/model/MLmodel`, { token: ana.token, rawBody: 'x' });
  await h.expectOk('POST', `${MV}/create`, { token: ana.token, body: { name: 'm', source: `dbfs:${AREA}/r1/model` } });
  const m = await h.expectOk('GET', '/api/2.0/mlflow/databricks/registered-models/get', { query: { name: 'm' } });
  await h.expectOk('PATCH', `/api/2.0/permissions/registered-models/${m.registered_model_databricks.id}`, {
    body: { access_control_list: [{ group_name: 'readers', permission_level: 'CAN_READ' }] },
  });
});

describe('revocation across instances', () => {
  it('artifact access ends at once on the other instance, for signing and for URIs already issued', async () => {
    const q = { name: 'm', version: '1', path: 'MLmodel' };
    const uri = await onB(`${MV}/get-signed-download-uri`, bo.token, q);
    expect(uri.status).toBe(200);
    await h.removeFromGroup(group.id, bo.id); // through instance A
    expect((await onB(`${MV}/get-signed-download-uri`, bo.token, q)).status).toBe(404);
    const signedUri = uri.json.signed_uri as string;
    expect((await b.request(signedUri.slice(signedUri.indexOf('/api/')))).status).toBe(404);
  });

  it('a metadata read on the other instance sees a group change at once, well inside the allow TTL', async () => {
    expect((await onB(`${MV}/get`, bo.token, { name: 'm', version: '1' })).status).toBe(200);
    await h.removeFromGroup(group.id, bo.id); // through instance A
    expect(DEFAULT_ALLOW_TTL_MS).toBeGreaterThan(0);
    expect((await onB(`${MV}/get`, bo.token, { name: 'm', version: '1' })).status).toBe(404);
  });

  it('a token revoked on one instance stops working on the other at once', async () => {
    const t = await h.expectOk('POST', '/api/2.0/token/create', { token: bo.token, body: { comment: 'x' } });
    expect((await onB(`${MV}/get`, t.token_value, { name: 'm', version: '1' })).status).toBe(200);
    await h.expectOk('POST', '/api/2.0/token/delete', { token: bo.token, body: { token_id: t.token_info.token_id } });
    expect((await onB(`${MV}/get`, t.token_value, { name: 'm', version: '1' })).status).toBe(401);
  });

  it('a principal deactivated on one instance is refused on the other at once, URIs already issued included', async () => {
    const q = { name: 'm', version: '1', path: 'MLmodel' };
    const uri = await onB(`${MV}/get-signed-download-uri`, bo.token, q);
    expect(uri.status).toBe(200);
    const signedUri = uri.json.signed_uri as string;
    expect((await b.request(signedUri.slice(signedUri.indexOf('/api/')))).status).toBe(200);
    await h.expectOk('PATCH', `/api/2.0/preview/scim/v2/Users/${bo.id}`, {
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] },
    });
    expect((await onB(`${MV}/get`, bo.token, { name: 'm', version: '1' })).status).toBe(401);
    expect((await b.request(signedUri.slice(signedUri.indexOf('/api/')))).status).toBe(404);
  });

  it('a direct revoke is seen everywhere at once, metadata included (the model epoch moves)', async () => {
    const m = await h.expectOk('GET', '/api/2.0/mlflow/databricks/registered-models/get', { query: { name: 'm' } });
    expect((await onB(`${MV}/get`, bo.token, { name: 'm', version: '1' })).status).toBe(200);
    await h.expectOk('PUT', `/api/2.0/permissions/registered-models/${m.registered_model_databricks.id}`, { body: { access_control_list: [] } });
    expect((await onB(`${MV}/get`, bo.token, { name: 'm', version: '1' })).status).toBe(404);
  });
});
