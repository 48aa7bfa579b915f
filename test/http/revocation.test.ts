/**
 * The revocation bound across instances (README "Revocation"), on an injected clock: two regate instances
 * share one database, each with its own ACL cache. A change made through instance A is seen by instance B
 * at once for everything that reaches artifacts (signing, downloads), because those decisions compare the
 * model's and the global ACL epochs; other reads on B may trail a group change by at most the allow TTL.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { AclCache, DEFAULT_ALLOW_TTL_MS, type AclEntry } from '../../src/core/access/acl-cache.ts';
import { createLruCache } from '../../src/adapters/lru/lru-cache.ts';
import { createArtifactKeyResolver } from '../../src/core/artifacts/download-access.ts';
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
  const aclB = new AclCache(createLruCache<AclEntry>({ max: 1000, clock: h.clock }));
  b = createApp({ ...h.deps, acl: aclB, artifactKey: createArtifactKeyResolver(h.db, aclB) });
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

  it('a plain metadata read on the other instance trails a group change by at most the allow TTL', async () => {
    expect((await onB(`${MV}/get`, bo.token, { name: 'm', version: '1' })).status).toBe(200);
    await h.removeFromGroup(group.id, bo.id); // through instance A
    const t0 = h.clock.now();
    h.clock.set(t0 + DEFAULT_ALLOW_TTL_MS - 1);
    expect((await onB(`${MV}/get`, bo.token, { name: 'm', version: '1' })).status).toBe(200);
    h.clock.set(t0 + DEFAULT_ALLOW_TTL_MS);
    expect((await onB(`${MV}/get`, bo.token, { name: 'm', version: '1' })).status).toBe(404);
  });

  it('a direct revoke is seen everywhere at once, metadata included (the model epoch moves)', async () => {
    const m = await h.expectOk('GET', '/api/2.0/mlflow/databricks/registered-models/get', { query: { name: 'm' } });
    expect((await onB(`${MV}/get`, bo.token, { name: 'm', version: '1' })).status).toBe(200);
    await h.expectOk('PUT', `/api/2.0/permissions/registered-models/${m.registered_model_databricks.id}`, { body: { access_control_list: [] } });
    expect((await onB(`${MV}/get`, bo.token, { name: 'm', version: '1' })).status).toBe(404);
  });
});
