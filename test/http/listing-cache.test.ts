/**
 * Rendered list-artifacts pages are reused (a registered version's files never change), but only after the
 * caller's own permission check: an outsider still gets the missing-model answer, a deleted version is gone,
 * and a second version with other files never sees the first one's page.
 */
import { describe, expect, it } from 'vitest';
import { makeHarness } from '../helpers/harness.ts';

const AREA = '/databricks/mlflow/tmp-external-source';
const MV = '/api/2.0/mlflow/model-versions';

describe('list-artifacts page reuse', () => {
  it('answers alike from the cache, and never skips the permission check or a delete', async () => {
    const h = await makeHarness({ env: {} });
    const ana = await h.user('ana@x');
    const outsider = await h.user('out@x');
    await h.expectOk('POST', '/api/2.0/mlflow/registered-models/create', { token: ana.token, body: { name: 'm' } });
    for (const f of ['MLmodel', 'data/a.bin', 'data/b.bin']) await h.call('POST', `/dbfs${AREA}/r1/model/${f}`, { token: ana.token, rawBody: f });
    await h.call('POST', `/dbfs${AREA}/r2/model/other.bin`, { token: ana.token, rawBody: 'o' });
    await h.expectOk('POST', `${MV}/create`, { token: ana.token, body: { name: 'm', source: `dbfs:${AREA}/r1/model` } });
    await h.expectOk('POST', `${MV}/create`, { token: ana.token, body: { name: 'm', source: `dbfs:${AREA}/r2/model` } });
    const q = { name: 'm', version: '1', path: 'data' };
    const first = await h.call('GET', `${MV}/list-artifacts`, { token: ana.token, query: q });
    const again = await h.call('GET', `${MV}/list-artifacts`, { token: ana.token, query: q });
    expect(first.status).toBe(200);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('content-type')).toContain('application/json');
    expect(first.json.files.map((f: { path: string }) => f.path)).toEqual(['data/a.bin', 'data/b.bin']);
    expect((await h.call('GET', `${MV}/list-artifacts`, { token: ana.token, query: { name: 'm', version: '2' } })).json.files).toEqual([
      { path: 'other.bin', is_dir: false, file_size: 1, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);
    expect((await h.call('GET', `${MV}/list-artifacts`, { token: outsider.token, query: q })).status).toBe(404);
    await h.expectOk('DELETE', `${MV}/delete`, { token: ana.token, body: { name: 'm', version: '1' } });
    expect((await h.call('GET', `${MV}/list-artifacts`, { token: ana.token, query: q })).status).toBe(404);
  });
});
