import { beforeEach, describe, expect, it } from 'vitest';
import { makeHarness, type Harness, type Identity } from '../helpers/harness.ts';

const AREA = '/databricks/mlflow/tmp-external-source';
let h: Harness;
let ana: Identity;
let bo: Identity;
beforeEach(async () => {
  h = await makeHarness({ env: {} });
  ana = await h.user('ana@x');
  bo = await h.user('bo@x');
});

const upload = (who: Identity, path: string, body: string) => h.call('POST', `/dbfs${path}`, { token: who.token, rawBody: body });

describe('the upload area', () => {
  it('takes raw uploads the way register_model sends them (double slash included) and lists them', async () => {
    expect((await upload(ana, `${AREA}//abc/model/MLmodel`, 'flavors: {}\n')).status).toBe(200);
    expect((await upload(ana, `${AREA}//abc/model/data/w.bin`, 'xyz')).status).toBe(200);
    expect((await upload(ana, `${AREA}//abc/model/empty`, '')).status).toBe(200);
    const top = await h.expectOk('GET', '/api/2.0/dbfs/list', { token: ana.token, query: { path: `${AREA}//abc` } });
    expect(top.files).toEqual([{ path: `${AREA}/abc/model`, is_dir: true, file_size: 0, modification_time: 0 }]);
    const model = await h.expectOk('GET', '/api/2.0/dbfs/list', { token: ana.token, query: { path: `${AREA}/abc/model` } });
    expect(model.files.map((f: { path: string; is_dir: boolean; file_size: number }) => [f.path.slice(AREA.length), f.is_dir, f.file_size])).toEqual([
      ['/abc/model/data', true, 0],
      ['/abc/model/MLmodel', false, 12],
      ['/abc/model/empty', false, 0],
    ]);
    const status = await h.expectOk('GET', '/api/2.0/dbfs/get-status', { token: ana.token, query: { path: `dbfs:${AREA}/abc/model/data/w.bin` } });
    expect(status).toMatchObject({ is_dir: false, file_size: 3 });
    const read = await h.expectOk('GET', '/api/2.0/dbfs/read', { token: ana.token, query: { path: `${AREA}/abc/model/data/w.bin`, offset: '1', length: '10' } });
    expect(read).toEqual({ bytes_read: 2, data: btoa('yz') });
    const raw = await h.call('GET', `/dbfs${AREA}/abc/model/data/w.bin`, { token: ana.token });
    expect(raw.text).toBe('xyz');
  });

  it('is private: another principal sees nothing there, as if the path did not exist', async () => {
    await upload(ana, `${AREA}/abc/model/MLmodel`, 'secret');
    for (const path of [`${AREA}/abc`, `${AREA}/abc/model/MLmodel`]) {
      const r = await h.call('GET', '/api/2.0/dbfs/list', { token: bo.token, query: { path } });
      expect(r.status).toBe(404);
      expect(r.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    }
    expect((await h.call('GET', `/dbfs${AREA}/abc/model/MLmodel`, { token: bo.token })).status).toBe(404);
    // Bo writing to the same path writes to his own area, leaving Ana's file as it was.
    await upload(bo, `${AREA}/abc/model/MLmodel`, 'bo');
    expect((await h.call('GET', `/dbfs${AREA}/abc/model/MLmodel`, { token: ana.token })).text).toBe('secret');
  });

  it('answers an empty directory without `files` and a missing one with RESOURCE_DOES_NOT_EXIST', async () => {
    const r = await h.call('GET', '/api/2.0/dbfs/list', { token: ana.token, query: { path: `${AREA}//fresh` } });
    expect(r.status).toBe(404);
    expect(r.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('enforces the DBFS read limit', async () => {
    await upload(ana, `${AREA}/abc/f`, 'x');
    const r = await h.call('GET', '/api/2.0/dbfs/read', { token: ana.token, query: { path: `${AREA}/abc/f`, length: String(1024 * 1024 + 1) } });
    expect(r.status).toBe(400);
    expect(r.json.error_code).toBe('MAX_READ_SIZE_EXCEEDED');
    const neg = await h.call('GET', '/api/2.0/dbfs/read', { token: ana.token, query: { path: `${AREA}/abc/f`, offset: '-1' } });
    expect(neg.json.error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('expires uploads that were never registered after a day', async () => {
    await upload(ana, `${AREA}/old/f`, 'x');
    h.clock.advance(24 * 3600 * 1000 + 1);
    await upload(ana, `${AREA}/new/f`, 'y');
    expect((await h.call('GET', '/api/2.0/dbfs/list', { token: ana.token, query: { path: `${AREA}/old` } })).status).toBe(404);
  });
});

describe('raw access to managed storage is refused and touches nothing', () => {
  const managed = '/databricks/mlflow-registry/0123456789abcdef0123456789abcdef/models/m/MLmodel';
  it.each([
    ['raw GET', 'GET', `/dbfs${managed}`, undefined],
    ['raw GET, case variant', 'GET', `/dbfs/Databricks/MLflow-Registry/x/models/m/MLmodel`, undefined],
    ['raw POST', 'POST', `/dbfs${managed}`, undefined],
    ['list root', 'GET', '/api/2.0/dbfs/list', { path: '/databricks/mlflow-registry' }],
    ['list root dbfs:', 'GET', '/api/2.0/dbfs/list', { path: 'dbfs:/databricks/mlflow-registry/' }],
    ['get-status root', 'GET', '/api/2.0/dbfs/get-status', { path: '/databricks/mlflow-registry' }],
  ])('%s → 403 naming the supported way', async (_n, method, path, query) => {
    const r = await h.call(method, path, { token: h.adminToken, query, rawBody: method === 'POST' ? 'evil' : undefined });
    expect(r.status).toBe(403);
    expect(r.json.error_code).toBe('PERMISSION_DENIED');
    expect(r.json.message).toContain('get-signed-download-uri');
  });

  it.each(['put', 'create', 'mkdirs', 'delete', 'move'])('/api/2.0/dbfs/%s on the managed prefix → 403', async (op) => {
    const body = op === 'move' ? { source_path: '/tmp/x', destination_path: '/databricks/mlflow-registry/x' } : { path: 'dbfs:/databricks/mlflow-registry/x' };
    const r = await h.call('POST', `/api/2.0/dbfs/${op}`, { body });
    expect(r.status).toBe(403);
  });

  it('records refusals in the audit trail without tokens', async () => {
    await h.call('GET', `/dbfs${managed}`, { token: ana.token });
    await h.deps.audit.flush();
    const rows = await h.db.prepare("SELECT * FROM audit WHERE action = 'raw_path_refused'").all<Record<string, unknown>>();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.principal_id).toBe(ana.id);
    expect(JSON.stringify(rows)).not.toContain(ana.token);
  });

  it('traversal out of the upload area is refused', async () => {
    const r = await h.call('GET', '/api/2.0/dbfs/list', { token: ana.token, query: { path: `${AREA}/../../mlflow-registry` } });
    expect(r.status).toBe(400);
  });
});
