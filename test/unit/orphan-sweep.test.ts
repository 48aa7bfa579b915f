/**
 * The orphan sweep (src/core/artifacts/sweep.ts): files of versions whose rows a crash removed without their
 * files are deleted once they stayed unreferenced for the grace; live versions, and a version whose files are
 * being copied right now (no row yet, files still arriving), are left alone.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from '../helpers/harness.ts';
import { OrphanSweeper } from '../../src/core/artifacts/sweep.ts';
import { streamOf, text } from '../helpers/streams.ts';

const AREA = '/databricks/mlflow/tmp-external-source';
const MV = '/api/2.0/mlflow/model-versions';
const GRACE = 60 * 60 * 1000;

let h: Harness;
beforeEach(async () => {
  h = await makeHarness({ env: {} });
  await h.expectOk('POST', '/api/2.0/mlflow/registered-models/create', { body: { name: 'm' } });
});

async function createVersion(id: string): Promise<string> {
  for (const rel of ['MLmodel', 'data/w.bin']) {
    expect((await h.call('POST', `/dbfs${AREA}/${id}/model/${rel}`, { rawBody: `${id} ${rel}` })).status).toBe(200);
  }
  const r = await h.expectOk('POST', `${MV}/create`, { body: { name: 'm', source: `dbfs:${AREA}/${id}/model` } });
  const uri = await h.expectOk('GET', `${MV}/get-download-uri`, { query: { name: 'm', version: r.model_version.version } });
  return /mlflow-registry\/([0-9a-f]{32})\//.exec(uri.artifact_uri)![1]!;
}

async function keys(prefix: string): Promise<string[]> {
  return (await h.deps.objectStore.list(prefix)).objects.map((o) => o.key);
}

describe('orphan sweep', () => {
  it('removes the files of a version whose row a crash deleted, after the grace, and nothing else', async () => {
    const live = await createVersion('live');
    const doomed = await createVersion('doomed');
    // A crash during delete-model-version: the batch committed, the process died before deleting the files.
    await h.db.prepare('DELETE FROM model_versions WHERE storage_id = ?').bind(doomed).run();
    expect(await keys(`registry/${doomed}/`)).toHaveLength(2);

    const sweeper = new OrphanSweeper({ db: h.db, objectStore: h.deps.objectStore, clock: h.clock });
    expect(await sweeper.sweep()).toEqual({ removed: [], objects: 0, waiting: 1 });
    h.clock.advance(GRACE - 1);
    expect((await sweeper.sweep()).removed).toEqual([]);
    h.clock.advance(1);
    expect(await sweeper.sweep()).toEqual({ removed: [doomed], objects: 2, waiting: 0 });
    expect(await keys(`registry/${doomed}/`)).toEqual([]);
    expect(await keys(`registry/${live}/`)).toHaveLength(2);
    const got = await h.call('GET', `/api/2.0/dbfs/read`, { query: { path: `/databricks/mlflow-registry/${live}/models/model/MLmodel` } });
    expect(atob(got.json.data)).toBe('live MLmodel');
  });

  it('leaves a version being created alone: files still arriving restart the grace, and a row arriving ends it', async () => {
    const store = h.deps.objectStore;
    const sid = '0123456789abcdef0123456789abcdef';
    await store.put(`registry/${sid}/models/model/a`, streamOf(text('a')));
    const sweeper = new OrphanSweeper({ db: h.db, objectStore: store, clock: h.clock });
    expect((await sweeper.sweep()).waiting).toBe(1);
    h.clock.advance(GRACE);
    // Another file was copied meanwhile: still in flight.
    await store.put(`registry/${sid}/models/model/b`, streamOf(text('b')));
    expect((await sweeper.sweep()).removed).toEqual([]);
    h.clock.advance(GRACE / 2);
    expect((await sweeper.sweep()).removed).toEqual([]);
    // Its row arrives (the version's batch committed): never an orphan again.
    const model = await h.db.prepare("SELECT id FROM registered_models WHERE name = 'm'").first<{ id: string }>();
    await h.db
      .prepare(
        `INSERT INTO model_versions (model_id, version, storage_id, model_dir, source, user_id, status, created_at, updated_at)
         VALUES (?, 99, ?, 'model', 's', 'admin', 'READY', 0, 0)`,
      )
      .bind(model!.id, sid)
      .run();
    h.clock.advance(10 * GRACE);
    expect(await sweeper.sweep()).toEqual({ removed: [], objects: 0, waiting: 0 });
    expect(await keys(`registry/${sid}/`)).toHaveLength(2);
  });
});
