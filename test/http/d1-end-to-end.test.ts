/**
 * @module d1-end-to-end.test
 * regate on real D1 (miniflare's workerd) and the memory object store, end to end through HTTP: every
 * migration applied by applyMigrations, bootstrap, SCIM users and tokens, a model, a DBFS upload, a version
 * copied into managed storage, a grant, a signed download (whole and ranged), search with a filter, and the
 * last-admin guard, which recognises its constraint failure by message and so depends on the D1 adapter
 * reporting constraint errors the way node:sqlite does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeD1Harness } from '../helpers/d1-harness.ts';
import { miniflareD1Pool } from '../helpers/miniflare-d1.ts';
import { readMigrations } from '../../src/runtime/node-deps.ts';
import { SCIM, type Identity } from '../helpers/harness.ts';

const MV = '/api/2.0/mlflow/model-versions';
const RM = '/api/2.0/mlflow/registered-models';
const AREA = '/databricks/mlflow/tmp-external-source';
const FILES: Record<string, string> = { MLmodel: 'flavors:\n  python_function: {}\n', 'data/weights.bin': 'w'.repeat(5000) };

const pool = miniflareD1Pool();
afterAll(() => pool.disposeAll());

let h: Awaited<ReturnType<typeof makeD1Harness>>;
let ana: Identity;
let bo: Identity;

beforeAll(async () => {
  h = await makeD1Harness(await pool.make());
  ana = await h.user('ana@x');
  bo = await h.user('bo@x');
});

describe('regate on D1', () => {
  it('applied every migration, recorded in d1_migrations, and bootstrapped the first admin', async () => {
    expect(h.applied).toEqual(readMigrations().map((m) => m.name).sort());
    const rows = await h.db.prepare('SELECT name FROM d1_migrations ORDER BY id').all<{ name: string }>();
    expect(rows.map((r) => r.name)).toEqual(h.applied);
    const me = await h.expectOk('GET', `${SCIM}/Me`);
    expect(me.userName).toBe('admin');
    expect((await h.call('GET', `${SCIM}/Me`, { token: 'not-a-token' })).status).toBe(401);
  });

  it('upload → version → grant → signed download, whole and ranged', async () => {
    await h.expectOk('POST', `${RM}/create`, { token: ana.token, body: { name: 'edge-model', tags: [{ key: 'team', value: 'ml' }] } });
    for (const [rel, body] of Object.entries(FILES)) {
      const r = await h.call('POST', `/dbfs${AREA}//u1/model/${rel}`, { token: ana.token, rawBody: body });
      expect(r.status, rel).toBe(200);
    }
    const created = await h.expectOk('POST', `${MV}/create`, { token: ana.token, body: { name: 'edge-model', source: `dbfs:${AREA}/u1/model` } });
    expect(created.model_version).toMatchObject({ version: '1', status: 'READY' });

    // bo cannot see the model until granted CAN_READ.
    const hidden = await h.call('GET', `${MV}/get-signed-download-uri`, { token: bo.token, query: { name: 'edge-model', version: '1', path: 'MLmodel' } });
    expect(hidden.status).toBe(404);
    const m = await h.expectOk('GET', '/api/2.0/mlflow/databricks/registered-models/get', { token: ana.token, query: { name: 'edge-model' } });
    await h.expectOk('PATCH', `/api/2.0/permissions/registered-models/${m.registered_model_databricks.id}`, {
      token: ana.token,
      body: { access_control_list: [{ user_name: 'bo@x', permission_level: 'CAN_READ' }] },
    });

    for (const [rel, body] of Object.entries(FILES)) {
      const s = await h.expectOk('GET', `${MV}/get-signed-download-uri`, { token: bo.token, query: { name: 'edge-model', version: '1', path: rel } });
      const res = await h.app.request(s.signed_uri);
      expect(res.status, rel).toBe(200);
      expect(await res.text(), rel).toBe(body);
    }
    const s = await h.expectOk('GET', `${MV}/get-signed-download-uri`, { token: bo.token, query: { name: 'edge-model', version: '1', path: 'data/weights.bin' } });
    const part = await h.app.request(s.signed_uri, { headers: { Range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('Content-Range')).toBe('bytes 10-19/5000');
    expect(await part.text()).toBe('w'.repeat(10));
  });

  it('searches models with a filter, showing each caller only what it may read', async () => {
    await h.expectOk('POST', `${RM}/create`, { token: ana.token, body: { name: 'edge-other' } });
    await h.expectOk('POST', `${RM}/create`, { token: ana.token, body: { name: 'unrelated' } });
    const names = (r: { registered_models?: Array<{ name: string }> }) => (r.registered_models ?? []).map((x) => x.name).sort();
    // Short patterns only: D1 refuses LIKE patterns over 50 bytes ("LIKE or GLOB pattern too complex"), which
    // filter-sql.ts does not yet keep under (a 58-byte prefix answered 500 here); that is fixed there.
    expect(names(await h.expectOk('GET', `${RM}/search`, { token: ana.token, query: { filter: "name LIKE 'edge-%'" } }))).toEqual(['edge-model', 'edge-other']);
    expect(names(await h.expectOk('GET', `${RM}/search`, { token: bo.token, query: { filter: "name LIKE 'edge-%'" } }))).toEqual(['edge-model']);
    expect(names(await h.expectOk('GET', `${RM}/search`, { token: ana.token, query: { filter: "name = 'unrelated'" } }))).toEqual(['unrelated']);
  });

  it('the last admin cannot be deactivated (a constraint failure recognised by message), and nothing changes', async () => {
    const adminId = (await h.expectOk('GET', `${SCIM}/Me`)).id;
    const r = await h.call('PATCH', `${SCIM}/Users/${adminId}`, {
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] },
    });
    expect(r.status).toBe(400);
    expect(r.json.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(r.json.message).toMatch(/last active admin/);
    expect((await h.expectOk('GET', `${SCIM}/Users/${adminId}`)).active).toBe(true);
  });

  it('a duplicate user name is refused as on node:sqlite, not a 500', async () => {
    const r = await h.call('POST', `${SCIM}/Users`, { body: { userName: 'ana@x' } });
    expect(r.status).toBe(400);
    expect(r.json.error_code).toBe('RESOURCE_ALREADY_EXISTS');
  });
});
