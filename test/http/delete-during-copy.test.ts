/**
 * A model deleted while one of its versions is being copied into managed storage: the create answers 404
 * RESOURCE_DOES_NOT_EXIST (the model is gone), never a 500, and the files it had copied are removed, so
 * nothing is left under the version's storage prefix. The copy is held on a gate (no sleeps).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from '../helpers/harness.ts';
import { gateCopies } from '../helpers/paused-copy.ts';

const AREA = '/databricks/mlflow/tmp-external-source';
const MV = '/api/2.0/mlflow/model-versions';
const RM = '/api/2.0/mlflow/registered-models';

let h: Harness;
beforeEach(async () => {
  h = await makeHarness({ env: {} });
  await h.expectOk('POST', `${RM}/create`, { body: { name: 'm' } });
  for (const rel of ['MLmodel', 'data/a.bin', 'data/b.bin']) {
    await h.expectOk('POST', `/dbfs${AREA}/up/model/${rel}`, { rawBody: `bytes of ${rel}` });
  }
});

const managed = async () => (await h.deps.objectStore.list('registry/')).objects.map((o) => o.key);

describe('deleting a model while a version of it is being copied', () => {
  it.each([
    ['before the first copy', 0],
    ['between two copies', 2],
  ])('%s: the create answers 404 and leaves no managed files', async (_when, at) => {
    const gate = gateCopies(h.deps.objectStore, at);
    const creating = h.call('POST', `${MV}/create`, { body: { name: 'm', source: `dbfs:${AREA}/up/model` } });
    await gate.entered;
    await h.expectOk('DELETE', `${RM}/delete`, { query: { name: 'm' } });
    gate.release();
    const r = await creating;
    gate.restore();
    expect(r.status, r.text).toBe(404);
    expect(r.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(gate.calls).toBe(3);
    expect(await managed()).toEqual([]);
    // No index rows either, and the name is free again.
    expect(await h.db.prepare('SELECT count(*) AS n FROM artifacts').first<{ n: number }>()).toEqual({ n: 0 });
    expect((await h.call('GET', `${RM}/get`, { query: { name: 'm' } })).status).toBe(404);
  });

  it('a model deleted and made again under the same name during the copy gets no version from the old create', async () => {
    const gate = gateCopies(h.deps.objectStore, 1);
    const creating = h.call('POST', `${MV}/create`, { body: { name: 'm', source: `dbfs:${AREA}/up/model` } });
    await gate.entered;
    await h.expectOk('DELETE', `${RM}/delete`, { query: { name: 'm' } });
    await h.expectOk('POST', `${RM}/create`, { body: { name: 'm' } });
    gate.release();
    const r = await creating;
    gate.restore();
    expect(r.status, r.text).toBe(404);
    expect(r.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(await managed()).toEqual([]);
    const search = await h.expectOk('GET', `${MV}/search`, { query: { filter: "name='m'" } });
    expect(search.model_versions ?? []).toEqual([]);
  });

  it('copying another version that is deleted meanwhile: the new version is never READY with missing files', async () => {
    await h.expectOk('POST', `${MV}/create`, { body: { name: 'm', source: `dbfs:${AREA}/up/model` } });
    const gate = gateCopies(h.deps.objectStore, 1);
    const creating = h.call('POST', `${MV}/create`, { body: { name: 'm', source: 'models:/m/1' } });
    await gate.entered;
    await h.expectOk('DELETE', `${MV}/delete`, { body: { name: 'm', version: '1' } });
    gate.release();
    const r = await creating;
    gate.restore();
    expect(r.status, r.text).toBeLessThan(500);
    if (r.status === 200) expect(r.json.model_version.status).toBe('FAILED_REGISTRATION');
    // Version 1's files went with it; whatever version 2 copied before failing was removed.
    expect(await managed()).toEqual([]);
  });

  it('without a race the same create succeeds (the gate itself changes nothing)', async () => {
    const gate = gateCopies(h.deps.objectStore, 1);
    const creating = h.call('POST', `${MV}/create`, { body: { name: 'm', source: `dbfs:${AREA}/up/model` } });
    await gate.entered;
    gate.release();
    const r = await creating;
    gate.restore();
    expect(r.status, r.text).toBe(200);
    expect((await managed()).length).toBe(3);
  });
});
