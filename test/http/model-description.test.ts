/**
 * Registered models tell an empty description from none, as model versions do (MLflow shows `""` and `None`
 * differently): `description: ""` on create or update reads back as "", a model created without one has no
 * `description` field in create, get, the Databricks get and search; old rows keep what they showed.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { makeHarness, T0, type Harness } from '../helpers/harness.ts';
import { SqliteDb } from '../../src/adapters/sqlite/sqlite-db.ts';
import { applyMigrations } from '../../src/core/migrate.ts';
import { readMigrations } from '../../src/runtime/node-deps.ts';

const RM = '/api/2.0/mlflow/registered-models';
let h: Harness;
beforeEach(async () => {
  h = await makeHarness();
});

async function shown(name: string) {
  const got = (await h.expectOk('GET', `${RM}/get`, { query: { name } })).registered_model;
  const dbx = (await h.expectOk('GET', '/api/2.0/mlflow/databricks/registered-models/get', { query: { name } })).registered_model_databricks;
  const found = (await h.expectOk('GET', `${RM}/search`, { query: { filter: `name = '${name}'` } })).registered_models[0];
  return [got, dbx, found].map((m: { description?: string }) => ('description' in m ? m.description : 'ABSENT'));
}

describe('a registered model\'s empty description', () => {
  it('created as "" reads back as ""; created without one has no field', async () => {
    const made = (await h.expectOk('POST', `${RM}/create`, { body: { name: 'empty', description: '' } })).registered_model;
    expect(made.description).toBe('');
    expect(await shown('empty')).toEqual(['', '', '']);
    const none = (await h.expectOk('POST', `${RM}/create`, { body: { name: 'none' } })).registered_model;
    expect('description' in none).toBe(false);
    expect(await shown('none')).toEqual(['ABSENT', 'ABSENT', 'ABSENT']);
  });

  it('updated to "" reads back as ""; an update without description leaves it as it was', async () => {
    await h.expectOk('POST', `${RM}/create`, { body: { name: 'm', description: 'first' } });
    const upd = (await h.expectOk('PATCH', `${RM}/update`, { body: { name: 'm', description: '' } })).registered_model;
    expect(upd.description).toBe('');
    expect(await shown('m')).toEqual(['', '', '']);
    await h.expectOk('PATCH', `${RM}/update`, { body: { name: 'm' } });
    expect(await shown('m')).toEqual(['', '', '']);
  });

  it('the migration keeps existing rows as they were shown: non-empty descriptions present, empty ones absent', async () => {
    const db = new SqliteDb(':memory:');
    const all = readMigrations();
    await applyMigrations(db, all.filter((m) => m.name < '0008'), T0);
    for (const [id, d] of [['m1', 'kept'], ['m2', '']] as const) {
      await db.prepare("INSERT INTO registered_models (id, name, description, user_id, created_at, updated_at) VALUES (?, ?, ?, 'u', 1, 1)").bind(id, id, d).run();
    }
    await applyMigrations(db, all, T0);
    expect(await db.prepare('SELECT id, has_description FROM registered_models ORDER BY id').all()).toEqual([
      { id: 'm1', has_description: 1 },
      { id: 'm2', has_description: 0 },
    ]);
    db.close();
  });
});
