/**
 * Getting files in and out the way the MLflow client does: raw DBFS upload → model-versions/create (copied
 * into managed storage) → list-artifacts → get-signed-download-uri → the signed download; with the
 * permission, revocation and confusion cases of range-and-signing.md §6 (T8–T11) on the Node runtime.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { makeHarness, type Harness, type Identity } from '../helpers/harness.ts';

const AREA = '/databricks/mlflow/tmp-external-source';
const MV = '/api/2.0/mlflow/model-versions';
const RM = '/api/2.0/mlflow/registered-models';

let h: Harness;
let ana: Identity;
let bo: Identity;

const FILES: Record<string, string> = {
  MLmodel: 'flavors:\n  python_function: {}\n',
  'data/weights.bin': 'w'.repeat(5000),
  'data/nested/deep.txt': 'deep',
  empty: '',
};

async function uploadModel(who: Identity, id: string, files = FILES): Promise<string> {
  for (const [rel, body] of Object.entries(files)) {
    const r = await h.call('POST', `/dbfs${AREA}//${id}/model/${rel}`, { token: who.token, rawBody: body });
    expect(r.status).toBe(200);
  }
  return `dbfs:${AREA}/${id}/model`;
}

async function register(who: Identity, name: string, source: string) {
  const r = await h.call('POST', `${MV}/create`, { token: who.token, body: { name, source } });
  return r;
}

async function grant(id: string, level: string, user: string) {
  const m = await h.expectOk('GET', '/api/2.0/mlflow/databricks/registered-models/get', { query: { name: id } });
  await h.expectOk('PATCH', `/api/2.0/permissions/registered-models/${m.registered_model_databricks.id}`, {
    body: { access_control_list: [{ user_name: user, permission_level: level }] },
  });
  return m.registered_model_databricks.id as string;
}

async function revoke(modelId: string) {
  // PUT replaces every direct grant: keep only the creator's.
  await h.expectOk('PUT', `/api/2.0/permissions/registered-models/${modelId}`, {
    body: { access_control_list: [{ user_name: 'ana@x', permission_level: 'CAN_MANAGE' }] },
  });
}

async function signed(who: Identity, name: string, version: string, path: string) {
  return h.call('GET', `${MV}/get-signed-download-uri`, { token: who.token, query: { name, version, path } });
}

/** Fetches a signed URI in-process, with no Authorization header, as MLflow does. */
async function fetchSigned(uri: string, headers: Record<string, string> = {}) {
  const res = await h.app.request(uri, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

beforeEach(async () => {
  h = await makeHarness({ env: {} });
  ana = await h.user('ana@x');
  bo = await h.user('bo@x');
  await h.expectOk('POST', `${RM}/create`, { token: ana.token, body: { name: 'm' } });
});

describe('register → list → sign → download', () => {
  it('copies the uploaded files into managed storage and serves them with exact sizes', async () => {
    const source = await uploadModel(ana, 'a1b2');
    const created = await register(ana, 'm', source);
    expect(created.status).toBe(200);
    expect(created.json.model_version).toMatchObject({ version: '1', status: 'READY', source });

    const uri = await h.expectOk('GET', `${MV}/get-download-uri`, { token: ana.token, query: { name: 'm', version: '1' } });
    expect(uri.artifact_uri).toMatch(/^dbfs:\/databricks\/mlflow-registry\/[0-9a-f]{32}\/models\/model$/);

    const root = await h.expectOk('GET', `${MV}/list-artifacts`, { token: ana.token, query: { name: 'm', version: '1', path: '' } });
    expect(root.files).toEqual([
      { path: 'data', is_dir: true },
      { path: 'MLmodel', is_dir: false, file_size: FILES.MLmodel!.length, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      // regate's `sha256` extension (test/http/digest.test.ts checks the values): SHA-256 of no bytes here.
      { path: 'empty', is_dir: false, file_size: 0, sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
    ]);
    const data = await h.expectOk('GET', `${MV}/list-artifacts`, { token: ana.token, query: { name: 'm', version: '1', path: 'data' } });
    expect(data.files).toEqual([
      { path: 'data/nested', is_dir: true },
      { path: 'data/weights.bin', is_dir: false, file_size: 5000, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);
    const file = await h.expectOk('GET', `${MV}/list-artifacts`, { token: ana.token, query: { name: 'm', version: '1', path: 'MLmodel' } });
    expect(file.files).toEqual([{ path: 'MLmodel', is_dir: false, file_size: FILES.MLmodel!.length, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);

    for (const [rel, body] of Object.entries(FILES)) {
      const s = await signed(ana, 'm', '1', rel);
      expect(s.status).toBe(200);
      expect(s.json.headers).toEqual([]);
      expect(s.headers.get('Cache-Control')).toContain('no-store');
      expect(s.headers.get('Referrer-Policy')).toBe('no-referrer');
      const got = await fetchSigned(s.json.signed_uri);
      expect(got.status, rel).toBe(200);
      expect(got.text).toBe(body);
    }
    const s = await signed(ana, 'm', '1', 'data/weights.bin');
    const part = await fetchSigned(s.json.signed_uri, { Range: 'bytes=10-19' });
    expect(part.status).toBe(206);
    expect(part.headers.get('Content-Range')).toBe('bytes 10-19/5000');
    expect(part.text).toBe('w'.repeat(10));
  });

  it('the DBFS API reads a version\'s managed files for CAN_READ and hides them from others', async () => {
    await register(ana, 'm', await uploadModel(ana, 'x1'));
    const { artifact_uri } = await h.expectOk('GET', `${MV}/get-download-uri`, { token: ana.token, query: { name: 'm', version: '1' } });
    const path = `${artifact_uri.slice('dbfs:'.length)}/data/nested/deep.txt`;
    const hidden = await h.call('GET', '/api/2.0/dbfs/read', { token: bo.token, query: { path } });
    expect(hidden.status).toBe(404);
    await grant('m', 'CAN_READ', 'bo@x');
    const read = await h.expectOk('GET', '/api/2.0/dbfs/read', { token: bo.token, query: { path } });
    expect(atob(read.data)).toBe('deep');
    const status = await h.expectOk('GET', '/api/2.0/dbfs/get-status', { token: bo.token, query: { path: artifact_uri } });
    expect(status.is_dir).toBe(true);
    const list = await h.expectOk('GET', '/api/2.0/dbfs/list', { token: bo.token, query: { path: artifact_uri } });
    expect(list.files.map((f: { path: string }) => f.path.slice(artifact_uri.length - 'dbfs:'.length))).toEqual(['/data', '/MLmodel', '/empty']);
    const raw = await h.call('GET', `/dbfs${path}`, { token: bo.token });
    expect(raw.status).toBe(403);
  });

  it('copies another version by models:/ and by its managed dbfs: location', async () => {
    await register(ana, 'm', await uploadModel(ana, 'src'));
    await h.expectOk('POST', `${RM}/create`, { token: ana.token, body: { name: 'copy' } });
    expect((await register(ana, 'copy', 'models:/m/1')).json.model_version.status).toBe('READY');
    const { artifact_uri } = await h.expectOk('GET', `${MV}/get-download-uri`, { token: ana.token, query: { name: 'm', version: '1' } });
    expect((await register(ana, 'copy', artifact_uri)).json.model_version.status).toBe('READY');
    for (const v of ['1', '2']) {
      const list = await h.expectOk('GET', `${MV}/list-artifacts`, { token: ana.token, query: { name: 'copy', version: v, path: 'data' } });
      expect(list.files).toContainEqual({ path: 'data/weights.bin', is_dir: false, file_size: 5000, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    }
  });
});

describe('sources a caller may not use are refused, and refused sources leave nothing', () => {
  it("another principal's upload is answered like a path that does not exist", async () => {
    const source = await uploadModel(ana, 'mine');
    await grant('m', 'CAN_EDIT', 'bo@x');
    const theirs = await register(bo, 'm', source);
    const nothing = await register(bo, 'm', `dbfs:${AREA}/never-uploaded/model`);
    expect(theirs.status).toBe(400);
    expect(theirs.json.error_code).toBe(nothing.json.error_code);
    expect(theirs.json.message.replace('mine', 'never-uploaded')).toBe(nothing.json.message);
    const versions = await h.expectOk('GET', `${MV}/search`, { query: { filter: "name='m'" } });
    expect(versions.model_versions ?? []).toEqual([]);
  });

  it('a models:/ source the caller cannot read is answered like a missing one', async () => {
    await register(ana, 'm', await uploadModel(ana, 's'));
    await h.expectOk('POST', `${RM}/create`, { token: bo.token, body: { name: 'bos' } });
    const r = await register(bo, 'bos', 'models:/m/1');
    const missing = await register(bo, 'bos', 'models:/nope/1');
    expect(r.status).toBe(400);
    expect(r.json.message.replace('models:/m/1', 'X')).toBe(missing.json.message.replace('models:/nope/1', 'X'));
  });

  it.each(['s3://bucket/m', 'file:///etc/passwd', 'runs:/abc/model', '/dbfs/databricks/x', 'dbfs:/databricks/mlflow/tmp-external-source/../../x'])(
    '%s is refused unless configured',
    async (source) => {
      const r = await register(ana, 'm', source);
      expect(r.status).toBe(400);
      expect(r.json.error_code).toBe('INVALID_PARAMETER_VALUE');
    },
  );
});

describe('who may get files (T8, T10, T11)', () => {
  beforeEach(async () => {
    await register(ana, 'm', await uploadModel(ana, 'v1'));
  });

  it('no permission looks like a missing model; CAN_READ may list and sign', async () => {
    const none = await signed(bo, 'm', '1', 'MLmodel');
    const missing = await signed(bo, 'nope', '1', 'MLmodel');
    expect(none.status).toBe(404);
    expect(none.json).toEqual({ error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'Registered Model with name=m not found' });
    expect(missing.json.message).toBe('Registered Model with name=nope not found');
    expect(none.json.signed_uri).toBeUndefined();
    await grant('m', 'CAN_READ', 'bo@x');
    expect((await signed(bo, 'm', '1', 'MLmodel')).status).toBe(200);
    expect((await h.call('GET', `${MV}/list-artifacts`, { token: bo.token, query: { name: 'm', version: '1' } })).status).toBe(200);
  });

  it('a revocation stops new signing and downloads of already signed URIs at once', async () => {
    const modelId = await grant('m', 'CAN_READ', 'bo@x');
    const s = await signed(bo, 'm', '1', 'MLmodel');
    expect((await fetchSigned(s.json.signed_uri)).status).toBe(200);
    await revoke(modelId);
    expect((await signed(bo, 'm', '1', 'MLmodel')).status).toBe(404);
    expect((await fetchSigned(s.json.signed_uri)).status).toBe(404);
  });

  it('removal from a group behaves like a direct revoke', async () => {
    const g = await h.group('readers', [bo.id]);
    const m = await h.expectOk('GET', '/api/2.0/mlflow/databricks/registered-models/get', { query: { name: 'm' } });
    await h.expectOk('PATCH', `/api/2.0/permissions/registered-models/${m.registered_model_databricks.id}`, {
      body: { access_control_list: [{ group_name: 'readers', permission_level: 'CAN_READ' }] },
    });
    const s = await signed(bo, 'm', '1', 'MLmodel');
    expect(s.status).toBe(200);
    await h.removeFromGroup(g.id, bo.id);
    expect((await signed(bo, 'm', '1', 'MLmodel')).status).toBe(404);
    expect((await fetchSigned(s.json.signed_uri)).status).toBe(404);
  });

  it('a signed URI dies at its expiry, checked when a request starts', async () => {
    const s = await signed(ana, 'm', '1', 'MLmodel');
    h.clock.advance(299_000);
    expect((await fetchSigned(s.json.signed_uri)).status).toBe(200);
    h.clock.advance(31_000 + 1000);
    const late = await fetchSigned(s.json.signed_uri);
    expect(late.status).toBe(401);
  });

  it('rename + a new model with the old name: a warm allow on the old model grants nothing on the new one', async () => {
    await grant('m', 'CAN_READ', 'bo@x');
    expect((await signed(bo, 'm', '1', 'MLmodel')).status).toBe(200);
    await h.expectOk('POST', `${RM}/rename`, { token: ana.token, body: { name: 'm', new_name: 'm-old' } });
    await h.expectOk('POST', `${RM}/create`, { token: ana.token, body: { name: 'm' } });
    await register(ana, 'm', await uploadModel(ana, 'v2'));
    expect((await signed(bo, 'm', '1', 'MLmodel')).status).toBe(404);
    expect((await signed(bo, 'm-old', '1', 'MLmodel')).status).toBe(200);
  });

  it('revoke, then a new version: no cached allow signs for it', async () => {
    const modelId = await grant('m', 'CAN_READ', 'bo@x');
    expect((await signed(bo, 'm', '1', 'MLmodel')).status).toBe(200);
    await revoke(modelId);
    await register(ana, 'm', await uploadModel(ana, 'v2b'));
    expect((await signed(bo, 'm', '2', 'MLmodel')).status).toBe(404);
  });
});

describe('artifact path parameters never name storage (T9)', () => {
  it.each([
    'dbfs:/databricks/mlflow-registry/1/models/m/MLmodel',
    'DBFS:/databricks/mlflow-registry/1/models/m/MLmodel',
    '/dbfs/databricks/mlflow-registry/1/models/m/MLmodel',
    '/Volumes/c/s/v/f',
    'file:///etc/passwd',
    's3://other-bucket/k',
    'runs:/abc/model',
    'models:/other/1',
    'mlflow-artifacts:/x',
    'dbfs%3A%2Fdatabricks',
    '../MLmodel',
    'data/../MLmodel',
    'data//weights.bin',
    'data\\weights.bin',
  ])('%s → 400 INVALID_PARAMETER_VALUE, no URI, no storage read', async (path) => {
    await register(ana, 'm', await uploadModel(ana, 'p'));
    const store = h.deps.objectStore!;
    const get = store.get.bind(store);
    let reads = 0;
    store.get = (...a) => {
      reads++;
      return get(...a);
    };
    for (const route of ['get-signed-download-uri', 'list-artifacts']) {
      const r = await h.call('GET', `${MV}/${route}`, { token: ana.token, query: { name: 'm', version: '1', path } });
      expect(r.status, route).toBe(400);
      expect(r.json.error_code).toBe('INVALID_PARAMETER_VALUE');
      expect(r.json.signed_uri).toBeUndefined();
    }
    expect(reads).toBe(0);
  });
});

describe('key rotation', () => {
  it('URIs signed before a rotation verify until their key is removed; new ones use the new key', async () => {
    await register(ana, 'm', await uploadModel(ana, 'k'));
    const old = await signed(ana, 'm', '1', 'MLmodel');
    const before = await h.expectOk('GET', '/api/2.0/regate/signing-keys');
    const rotated = await h.expectOk('POST', '/api/2.0/regate/signing-keys/rotate');
    expect(rotated.keys.map((k: { kid: string }) => k.kid)).toEqual([rotated.kid, before.keys[0].kid]);
    expect((await fetchSigned(old.json.signed_uri)).status).toBe(200);
    const fresh = await signed(ana, 'm', '1', 'MLmodel');
    expect((await fetchSigned(fresh.json.signed_uri)).status).toBe(200);
    expect((await h.call('DELETE', `/api/2.0/regate/signing-keys/${rotated.kid}`)).status).toBe(400);
    await h.expectOk('DELETE', `/api/2.0/regate/signing-keys/${before.keys[0].kid}`);
    expect((await fetchSigned(old.json.signed_uri)).status).toBe(401);
    expect((await fetchSigned(fresh.json.signed_uri)).status).toBe(200);
    expect((await h.call('POST', '/api/2.0/regate/signing-keys/rotate', { token: ana.token })).status).toBe(403);
  });
});

describe('deleting', () => {
  it('a deleted version or model takes its managed files with it', async () => {
    await register(ana, 'm', await uploadModel(ana, 'd1'));
    await register(ana, 'm', await uploadModel(ana, 'd2'));
    const store = h.deps.objectStore!;
    const managed = async () => (await store.list("registry/")).objects.length;
    const before = (await store.list('registry/')).objects.length;
    expect(before).toBe(2 * Object.keys(FILES).length);
    await h.expectOk('DELETE', `${MV}/delete`, { token: ana.token, body: { name: 'm', version: '1' } });
    expect(await managed()).toBe(Object.keys(FILES).length);
    await h.expectOk('DELETE', `${RM}/delete`, { token: ana.token, query: { name: 'm' } });
    expect(await managed()).toBe(0);
  });
});

describe('audit', () => {
  it('records a denial with the model id and the missing level', async () => {
    await h.call('POST', `${RM}/set-tag`, { token: bo.token, body: { name: 'm', key: 'k', value: 'v' } });
    const log = await h.expectOk('GET', '/api/2.0/regate/audit', { query: { action: 'denied', principal_id: bo.id } });
    expect(log.events).toHaveLength(1);
    expect(log.events[0]).toMatchObject({ status: 404, detail: 'edit_tags needs CAN_EDIT; has NO_PERMISSIONS' });
    expect(log.events[0].model_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('records each download with the bytes sent', async () => {
    await register(ana, 'm', await uploadModel(ana, 'dl'));
    const s = await signed(ana, 'm', '1', 'data/weights.bin');
    await fetchSigned(s.json.signed_uri);
    await fetchSigned(s.json.signed_uri, { Range: 'bytes=0-99' });
    await new Promise((r) => setTimeout(r, 0));
    const log = await h.expectOk('GET', '/api/2.0/regate/audit', { query: { action: 'download' } });
    expect(log.events.map((e: { status: number; bytes: number; path: string }) => [e.status, e.bytes, e.path])).toEqual([
      [206, 100, 'data/weights.bin'],
      [200, 5000, 'data/weights.bin'],
    ]);
  });

  it('records grant changes', async () => {
    await grant('m', 'CAN_READ', 'bo@x');
    const log = await h.expectOk('GET', '/api/2.0/regate/audit', { query: { action: 'grant_change' } });
    expect(log.events[0].detail).toBe('update user:bo@x=CAN_READ');
  });

  it('records signing with principal, model, version, path and size, and never a token', async () => {
    await register(ana, 'm', await uploadModel(ana, 'a'));
    const s = await signed(ana, 'm', '1', 'data/weights.bin');
    const log = await h.expectOk('GET', '/api/2.0/regate/audit', { query: { action: 'sign_uri' } });
    expect(log.events[0]).toMatchObject({ principal_id: ana.id, version: '1', path: 'data/weights.bin', bytes: 5000, status: 200 });
    const token = new URL(s.json.signed_uri).searchParams.get('t')!;
    const rows = JSON.stringify(await h.db.prepare('SELECT * FROM audit').all());
    expect(rows).not.toContain(token);
    expect(rows).not.toContain(ana.token);
    const denied = await h.call('GET', '/api/2.0/regate/audit', { token: ana.token });
    expect(denied.status).toBe(403);
  });
});
