/**
 * model-versions/search without a filter, in MLflow's default order: a caller who may read everything walks the
 * update-time index and stops after a page; a caller who may read only some models is driven from their grants
 * (walking every version to find a reader's few took 45 ms at 50,000 models; bench figure 5). Both answer the
 * same rows in the same order.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { createDeps } from '../../src/http/deps.ts';
import { createLruCache } from '../../src/adapters/lru/lru-cache.ts';
import { makeHarness, type Harness, type Identity } from '../helpers/harness.ts';
import { countingDb, type CountingDb } from '../helpers/counting-db.ts';

const MLFLOW = '/api/2.0/mlflow';
let h: Harness;
let db: CountingDb;
let app: ReturnType<typeof createApp>;
let bo: Identity;

beforeAll(async () => {
  h = await makeHarness();
  db = countingDb(h.db);
  const { clock, logger, config, workspaceId, objectStore, keyRing, timers } = h.deps;
  app = createApp(createDeps({ db, clock, logger, config, workspaceId, objectStore, keyRing, timers, cache: <V extends object>(max: number) => createLruCache<V>({ max, clock }) }));
  bo = await h.user('bo@x');
  for (const name of ['a', 'b', 'c', 'd']) {
    await h.expectOk('POST', `${MLFLOW}/registered-models/create`, { body: { name } });
    for (let i = 0; i < 2; i++) {
      h.clock.advance(1000);
      await h.expectOk('POST', `${MLFLOW}/model-versions/create`, { body: { name, source: `s3://bucket/${name}/${i}` } });
    }
  }
  for (const name of ['b', 'd']) {
    const id = (await h.expectOk('GET', `${MLFLOW}/databricks/registered-models/get`, { query: { name } })).registered_model_databricks.id;
    await h.expectOk('PATCH', `/api/2.0/permissions/registered-models/${id}`, { body: { access_control_list: [{ user_name: 'bo@x', permission_level: 'CAN_READ' }] } });
  }
});

async function search(token: string): Promise<{ versions: Array<{ name: string; version: string }>; sql: string }> {
  db.reset();
  const res = await app.request(`${MLFLOW}/model-versions/search`, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { model_versions: Array<{ name: string; version: string }> };
  return { versions: body.model_versions.map(({ name, version }) => ({ name, version })), sql: db.log.find((s) => s.includes('FROM model_versions v')) ?? '' };
}

describe('model-versions/search plan by caller', () => {
  it('an admin walks the update-time index; a reader of some models is driven from their grants; same order', async () => {
    const admin = await search(h.adminToken);
    expect(admin.sql).toContain('INDEXED BY model_versions_updated');
    const reader = await search(bo.token);
    expect(reader.sql).not.toContain('INDEXED BY');
    const expected = [
      { name: 'd', version: '2' },
      { name: 'd', version: '1' },
      { name: 'b', version: '2' },
      { name: 'b', version: '1' },
    ];
    expect(reader.versions).toEqual(expected);
    expect(admin.versions.filter((v) => v.name === 'b' || v.name === 'd')).toEqual(expected);
  });
});
