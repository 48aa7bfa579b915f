/**
 * MLflow's model-version contract on two points regate got wrong:
 * - `model-versions/search` without `order_by` orders by last update time descending, then name ascending,
 *   then version descending (MLflow's SqlAlchemyStore.search_model_versions default), across models and
 *   through page tokens; an explicit `order_by` keeps name ASC, version DESC as tiebreakers.
 * - A description given as "" (on create or update) reads back as "" (MLflow shows `None` otherwise), while a
 *   version created without one still has no `description` field, before and after a migration of old rows.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { makeHarness, T0, type Harness } from '../helpers/harness.ts';
import { MV, registry } from '../helpers/registry.ts';
import { SqliteDb } from '../../src/adapters/sqlite/sqlite-db.ts';
import { applyMigrations } from '../../src/core/migrate.ts';
import { readMigrations } from '../../src/runtime/node-deps.ts';

let h: Harness;
let r: ReturnType<typeof registry>;
beforeEach(async () => {
  h = await makeHarness();
  r = registry(h);
});

const ids = (res: { model_versions: Array<{ name: string; version: string }> }) => res.model_versions.map((v) => `${v.name}/${v.version}`);

describe('model-versions/search default order', () => {
  async function seed() {
    await r.createModel('a');
    await r.createModel('b');
    h.clock.set(T0 + 1000);
    await r.createVersion('a'); // a/1
    h.clock.set(T0 + 2000);
    await r.createVersion('b'); // b/1
    h.clock.set(T0 + 3000);
    await r.createVersion('a'); // a/2
    h.clock.set(T0 + 4000);
    await r.createVersion('b'); // b/2, same time as a/3: name then version break the tie
    await r.createVersion('a'); // a/3
    await r.createVersion('a'); // a/4
    h.clock.set(T0 + 5000);
    await h.expectOk('PATCH', `${MV}/update`, { body: { name: 'a', version: '1', description: 'touched' } });
  }
  const EXPECTED = ['a/1', 'a/4', 'a/3', 'b/2', 'a/2', 'b/1'];

  it('is last update time DESC, name ASC, version DESC', async () => {
    await seed();
    expect(ids(await h.expectOk('GET', `${MV}/search`))).toEqual(EXPECTED);
  });

  it('pages through the same order with page tokens, every version once', async () => {
    await seed();
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const res = await h.expectOk('GET', `${MV}/search`, { query: { max_results: '4', page_token: token } });
      seen.push(...ids(res));
      token = res.next_page_token;
    } while (token);
    expect(seen).toEqual(EXPECTED);
  });

  it('an explicit order_by keeps name ASC, version DESC as tiebreakers', async () => {
    await seed();
    expect(ids(await h.expectOk('GET', `${MV}/search`, { query: { order_by: ['last_updated_timestamp ASC'] } }))).toEqual(['b/1', 'a/2', 'a/4', 'a/3', 'b/2', 'a/1']);
    expect(ids(await h.expectOk('GET', `${MV}/search`, { query: { order_by: ['name DESC'] } }))).toEqual(['b/2', 'b/1', 'a/4', 'a/3', 'a/2', 'a/1']);
  });
});

describe('an empty description', () => {
  it('created as "" reads back as "" (create answer, get, search); absent stays absent', async () => {
    await r.createModel('m');
    const made = await r.createVersion('m', 's3://bucket/x/model', { description: '' });
    expect(made.description).toBe('');
    const none = await r.createVersion('m');
    expect('description' in none).toBe(false);
    const got = await h.expectOk('GET', `${MV}/get`, { query: { name: 'm', version: '1' } });
    expect(got.model_version.description).toBe('');
    const got2 = await h.expectOk('GET', `${MV}/get`, { query: { name: 'm', version: '2' } });
    expect('description' in got2.model_version).toBe(false);
    const found = await h.expectOk('GET', `${MV}/search`, { query: { filter: "name = 'm'" } });
    expect(found.model_versions.map((v: { description?: string }) => v.description)).toEqual([undefined, '']);
    // latest_versions in the registered-model entity (one-statement path) agrees.
    const model = await h.expectOk('GET', '/api/2.0/mlflow/registered-models/get', { query: { name: 'm' } });
    expect('description' in model.registered_model.latest_versions[0]).toBe(false);
  });

  it('updated to "" reads back as ""; an update without description leaves it as it was', async () => {
    await r.createModel('m');
    await r.createVersion('m', 's3://bucket/x/model', { description: 'first' });
    const upd = await h.expectOk('PATCH', `${MV}/update`, { body: { name: 'm', version: '1', description: '' } });
    expect(upd.model_version.description).toBe('');
    expect((await h.expectOk('GET', `${MV}/get`, { query: { name: 'm', version: '1' } })).model_version.description).toBe('');
    await r.createVersion('m');
    await h.expectOk('PATCH', `${MV}/update`, { body: { name: 'm', version: '2' } });
    expect('description' in (await h.expectOk('GET', `${MV}/get`, { query: { name: 'm', version: '2' } })).model_version).toBe(false);
  });

  it('the migration keeps existing rows as they were shown: non-empty descriptions present, empty ones absent', async () => {
    const db = new SqliteDb(':memory:');
    const all = readMigrations();
    const before = all.filter((m) => m.name < '0005');
    await applyMigrations(db, before, T0);
    await db.prepare("INSERT INTO registered_models (id, name, user_id, created_at, updated_at) VALUES ('m1', 'm', 'u', 1, 1)").run();
    for (const [v, d] of [[1, 'kept'], [2, '']] as const) {
      await db
        .prepare("INSERT INTO model_versions (model_id, version, storage_id, model_dir, source, description, user_id, status, created_at, updated_at) VALUES ('m1', ?, ?, '', 's', ?, 'u', 'READY', 1, 1)")
        .bind(v, `s${v}`, d)
        .run();
    }
    await applyMigrations(db, all, T0);
    const rows = await db.prepare('SELECT version, has_description FROM model_versions ORDER BY version').all();
    expect(rows).toEqual([{ version: 1, has_description: 1 }, { version: 2, has_description: 0 }]);
    db.close();
  });
});
