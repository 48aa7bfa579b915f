/**
 * @module model-versions.test
 * Model-version endpoints through HTTP: exact entity shapes, numbering that never reuses a number, every
 * error shape, DELETE parameters from body or query, tags, the download URI, and both transition-stage
 * endpoints with archive_existing_versions and the stage rule. Search is in registry-search.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TEST_ENV, makeHarness, T0, type Harness, type Identity } from '../helpers/harness.ts';
import { MLFLOW, MV, RM, expectError, registry } from '../helpers/registry.ts';

const DBX_TRANSITION = `${MLFLOW}/databricks/model-versions/transition-stage`;

let h: Harness;
let r: ReturnType<typeof registry>;
let alice: Identity;
beforeEach(async () => {
  h = await makeHarness();
  r = registry(h);
  alice = await h.user('alice@x');
});

const stageOf = async (name: string, version: string) =>
  (await h.expectOk('GET', `${MV}/get`, { query: { name, version } })).model_version.current_stage;

describe('create and get', () => {
  it('creates a READY version with exact fields; version is a string', async () => {
    await r.createModel('m', alice.token);
    h.clock.advance(7);
    const res = await h.expectOk('POST', `${MV}/create`, {
      token: alice.token,
      body: {
        name: 'm',
        source: 's3://bucket/runs/abc/clf',
        run_id: 'r1',
        run_link: 'https://ws/#/runs/r1',
        description: 'first',
        tags: [{ key: 'k', value: 'v' }],
      },
    });
    const expected = {
      name: 'm',
      version: '1',
      creation_timestamp: T0 + 7,
      last_updated_timestamp: T0 + 7,
      user_id: 'alice@x',
      current_stage: 'None',
      description: 'first',
      source: 's3://bucket/runs/abc/clf',
      run_id: 'r1',
      run_link: 'https://ws/#/runs/r1',
      status: 'READY',
      tags: [{ key: 'k', value: 'v' }],
    };
    expect(res).toEqual({ model_version: expected });
    expect(await h.expectOk('GET', `${MV}/get`, { token: alice.token, query: { name: 'm', version: '1' } })).toEqual(res);
    // Creating a version bumps the model's last-updated time.
    expect((await h.expectOk('GET', `${RM}/get`, { query: { name: 'm' } })).registered_model.last_updated_timestamp).toBe(T0 + 7);
  });

  it('leaves out empty optional strings', async () => {
    await r.createModel('m');
    const v = await r.createVersion('m', 's3://b/model');
    expect(Object.keys(v).sort()).toEqual(
      ['creation_timestamp', 'current_stage', 'last_updated_timestamp', 'name', 'source', 'status', 'tags', 'user_id', 'version'].sort(),
    );
  });

  it('numbers versions from the model\'s counter and never reuses a deleted number', async () => {
    await r.createModel('m');
    expect((await r.createVersion('m')).version).toBe('1');
    expect((await r.createVersion('m')).version).toBe('2');
    expect((await r.createVersion('m')).version).toBe('3');
    await h.expectOk('DELETE', `${MV}/delete`, { body: { name: 'm', version: '3' } });
    await h.expectOk('DELETE', `${MV}/delete`, { query: { name: 'm', version: '2' } });
    expect((await r.createVersion('m')).version).toBe('4');
    const all = await h.expectOk('GET', `${MV}/search`, { query: { filter: "name = 'm'" } });
    expect(all.model_versions.map((v: { version: string }) => v.version)).toEqual(['4', '1']);
  });

  it('accepts version as a JSON number (SDK) as well as a string', async () => {
    await r.createModel('m');
    await r.createVersion('m');
    const res = await h.expectOk('PATCH', `${MV}/update`, { body: { name: 'm', version: 1, description: 'd' } });
    expect(res.model_version).toMatchObject({ version: '1', description: 'd' });
  });

  it.each([
    [{ version: 'abc' }, /positive integer/],
    [{ version: '0' }, /positive integer/],
    [{ version: '-2' }, /positive integer/],
    [{ version: '1.5' }, /positive integer/],
    [{}, /version/],
    [{ version: '1', name: 'x'.repeat(257) }, /256/],
  ])('get refuses %j with INVALID_PARAMETER_VALUE', async (query, message) => {
    await r.createModel('m');
    expectError(await h.call('GET', `${MV}/get`, { query: { name: 'm', ...query } }), 400, 'INVALID_PARAMETER_VALUE', message);
  });

  it('answers a missing version in MLflow\'s words, and a hidden model as missing', async () => {
    await r.createModel('m');
    await r.createVersion('m');
    expectError(await h.call('GET', `${MV}/get`, { query: { name: 'm', version: '9' } }), 404, 'RESOURCE_DOES_NOT_EXIST', 'Model Version (name=m, version=9) not found');
    expectError(await h.call('GET', `${MV}/get`, { token: alice.token, query: { name: 'm', version: '1' } }), 404, 'RESOURCE_DOES_NOT_EXIST', 'Registered Model with name=m not found');
    expectError(await h.call('GET', `${MV}/get`, { query: { name: 'nope', version: '1' } }), 404, 'RESOURCE_DOES_NOT_EXIST', 'Registered Model with name=nope not found');
  });

  it('refuses a create without source, and a reader\'s create; neither takes a number', async () => {
    await r.createModel('m');
    await r.grant('m', 'alice@x', 'CAN_READ');
    expectError(await h.call('POST', `${MV}/create`, { body: { name: 'm' } }), 400, 'INVALID_PARAMETER_VALUE', /source/);
    expectError(await h.call('POST', `${MV}/create`, { body: { name: 'm', source: 's3://b/s', tags: [{ key: '', value: 'v' }] } }), 400, 'INVALID_PARAMETER_VALUE');
    expectError(await h.call('POST', `${MV}/create`, { token: alice.token, body: { name: 'm', source: 's3://b/m' } }), 403, 'PERMISSION_DENIED', /add a model version/);
    expect(await r.count('model_versions')).toBe(0);
    await r.grant('m', 'alice@x', 'CAN_EDIT');
    expect((await r.createVersion('m', 's3://b/m', {}, alice.token)).version).toBe('1');
  });
});

describe('update, delete, tags', () => {
  beforeEach(async () => {
    await r.createModel('m');
    await r.createVersion('m');
  });

  it('updates the description and last-updated time', async () => {
    h.clock.advance(100);
    const res = await h.expectOk('PATCH', `${MV}/update`, { body: { name: 'm', version: '1', description: 'better' } });
    expect(res.model_version).toMatchObject({ description: 'better', creation_timestamp: T0, last_updated_timestamp: T0 + 100 });
  });

  it('delete needs CAN_MANAGE, takes a JSON body or a query, and removes tags', async () => {
    await r.createVersion('m', 's3://b/s', { tags: [{ key: 'a', value: 'b' }] });
    await r.grant('m', 'alice@x', 'CAN_MANAGE_PRODUCTION_VERSIONS');
    expectError(await h.call('DELETE', `${MV}/delete`, { token: alice.token, query: { name: 'm', version: '2' } }), 403, 'PERMISSION_DENIED');
    expect(await r.count('model_versions')).toBe(2);
    await h.expectOk('DELETE', `${MV}/delete`, { body: { name: 'm', version: '2' } });
    expect(await r.count('version_tags')).toBe(0);
    await h.expectOk('DELETE', `${MV}/delete`, { query: { name: 'm', version: '1' } });
    expect(await r.count('model_versions')).toBe(0);
    expectError(await h.call('DELETE', `${MV}/delete`, { query: { name: 'm', version: '1' } }), 404, 'RESOURCE_DOES_NOT_EXIST', 'Model Version (name=m, version=1) not found');
  });

  it('sets, replaces and deletes version tags', async () => {
    await h.expectOk('POST', `${MV}/set-tag`, { body: { name: 'm', version: '1', key: 'k', value: '1' } });
    await h.expectOk('POST', `${MV}/set-tag`, { body: { name: 'm', version: '1', key: 'k', value: '2' } });
    expect((await h.expectOk('GET', `${MV}/get`, { query: { name: 'm', version: '1' } })).model_version.tags).toEqual([{ key: 'k', value: '2' }]);
    await h.expectOk('DELETE', `${MV}/delete-tag`, { query: { name: 'm', version: '1', key: 'k' } });
    expect((await h.expectOk('GET', `${MV}/get`, { query: { name: 'm', version: '1' } })).model_version.tags).toEqual([]);
    expectError(await h.call('POST', `${MV}/set-tag`, { body: { name: 'm', version: '5', key: 'k', value: '1' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
  });

  it('a reader\'s version set-tag is refused and the tag is absent afterwards', async () => {
    await r.grant('m', 'alice@x', 'CAN_READ');
    expectError(await h.call('POST', `${MV}/set-tag`, { token: alice.token, body: { name: 'm', version: '1', key: 'k', value: 'v' } }), 403, 'PERMISSION_DENIED');
    expectError(await h.call('DELETE', `${MV}/delete-tag`, { token: alice.token, body: { name: 'm', version: '1', key: 'k' } }), 403, 'PERMISSION_DENIED');
    expectError(await h.call('PATCH', `${MV}/update`, { token: alice.token, body: { name: 'm', version: '1', description: 'x' } }), 403, 'PERMISSION_DENIED');
    const v = (await h.expectOk('GET', `${MV}/get`, { token: alice.token, query: { name: 'm', version: '1' } })).model_version;
    expect(v.tags).toEqual([]);
    expect(v.description).toBeUndefined();
  });

  it('get-download-uri names the version\'s managed storage', async () => {
    await r.createVersion('m', 's3://bucket/0123/my_model/');
    const u1 = (await h.expectOk('GET', `${MV}/get-download-uri`, { query: { name: 'm', version: '1' } })).artifact_uri;
    const u2 = (await h.expectOk('GET', `${MV}/get-download-uri`, { query: { name: 'm', version: '2' } })).artifact_uri;
    expect(u1).toMatch(/^dbfs:\/databricks\/mlflow-registry\/[0-9a-f]{32}\/models\/model$/);
    expect(u2).toMatch(/^dbfs:\/databricks\/mlflow-registry\/[0-9a-f]{32}\/models\/my_model$/);
    expect(u1.split('/')[3]).not.toBe(u2.split('/')[3]);
    expectError(await h.call('GET', `${MV}/get-download-uri`, { token: alice.token, query: { name: 'm', version: '1' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectError(await h.call('GET', `${MV}/get-download-uri`, { query: { name: 'm', version: '3' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
  });
});

describe('transition-stage', () => {
  beforeEach(async () => {
    await r.createModel('m');
    for (let i = 0; i < 3; i++) await r.createVersion('m');
  });

  it('matches the stage case-insensitively and answers with the canonical stage', async () => {
    h.clock.advance(50);
    const res = await h.expectOk('POST', `${MV}/transition-stage`, {
      body: { name: 'm', version: '1', stage: 'staging', archive_existing_versions: false },
    });
    expect(res.model_version).toMatchObject({ name: 'm', version: '1', current_stage: 'Staging', last_updated_timestamp: T0 + 50 });
    expect((await h.expectOk('GET', `${RM}/get`, { query: { name: 'm' } })).registered_model.last_updated_timestamp).toBe(T0 + 50);
    const act = await h.db.prepare('SELECT activity_type, from_stage, to_stage, is_open FROM activities').all();
    expect(act).toEqual([{ activity_type: 'APPLIED_TRANSITION', from_stage: 'None', to_stage: 'Staging', is_open: 0 }]);
  });

  it('archive_existing_versions moves every other version in the target stage to Archived', async () => {
    await r.transition('m', '1', 'Production');
    await r.transition('m', '2', 'Production');
    await r.transition('m', '3', 'Production', true);
    expect([await stageOf('m', '1'), await stageOf('m', '2'), await stageOf('m', '3')]).toEqual(['Archived', 'Archived', 'Production']);
    const sys = await h.db.prepare(`SELECT version FROM activities WHERE activity_type = 'SYSTEM_TRANSITION' ORDER BY version`).all();
    expect(sys).toEqual([{ version: 1 }, { version: 2 }]);
  });

  it('without archive_existing_versions, other versions keep their stage', async () => {
    await r.transition('m', '1', 'Production');
    await r.transition('m', '2', 'PRODUCTION', false);
    expect([await stageOf('m', '1'), await stageOf('m', '2')]).toEqual(['Production', 'Production']);
  });

  it.each([
    [{ stage: 'Prod' }, /stage/],
    [{ stage: 'None', archive_existing_versions: true }, /archive_existing_versions/],
    [{ stage: 'Archived', archive_existing_versions: true }, /archive_existing_versions/],
    [{ stage: 'Staging', version: 'one' }, /positive integer/],
    [{ stage: 'Staging', archive_existing_versions: 'maybe' }, /boolean/],
  ])('refuses %j with INVALID_PARAMETER_VALUE', async (body, message) => {
    const res = await h.call('POST', `${MV}/transition-stage`, { body: { name: 'm', version: '1', archive_existing_versions: false, ...body } });
    expectError(res, 400, 'INVALID_PARAMETER_VALUE', message);
    expect(await stageOf('m', '1')).toBe('None');
  });

  it('enforces the stage rule: staging managers within None/Staging/Archived only', async () => {
    await r.grant('m', 'alice@x', 'CAN_MANAGE_STAGING_VERSIONS');
    const t = (version: string, stage: string, archive = false) =>
      h.call('POST', `${MV}/transition-stage`, { token: alice.token, body: { name: 'm', version, stage, archive_existing_versions: archive } });
    expect((await t('1', 'Staging')).status).toBe(200);
    expect((await t('2', 'Staging', true)).status).toBe(200);
    expect(await stageOf('m', '1')).toBe('Archived');
    expectError(await t('2', 'Production'), 403, 'PERMISSION_DENIED', /from Staging to Production/);
    expect(await stageOf('m', '2')).toBe('Staging');
    await r.transition('m', '3', 'Production');
    expectError(await t('3', 'Archived'), 403, 'PERMISSION_DENIED');
    expect(await stageOf('m', '3')).toBe('Production');
  });

  it('a refused archive leaves every version where it was', async () => {
    // Only the admin can move versions out of Production; a staging manager cannot archive them as a side effect.
    await r.transition('m', '1', 'Production');
    await r.grant('m', 'alice@x', 'CAN_MANAGE_PRODUCTION_VERSIONS');
    await h.expectOk('POST', `${MV}/transition-stage`, {
      token: alice.token,
      body: { name: 'm', version: '2', stage: 'Production', archive_existing_versions: true },
    });
    expect([await stageOf('m', '1'), await stageOf('m', '2')]).toEqual(['Archived', 'Production']);
    const bob = await h.user('bob@x');
    await r.grant('m', 'bob@x', 'CAN_EDIT');
    expectError(
      await h.call('POST', `${MV}/transition-stage`, { token: bob.token, body: { name: 'm', version: '3', stage: 'Staging', archive_existing_versions: true } }),
      403,
      'PERMISSION_DENIED',
    );
    expect([await stageOf('m', '1'), await stageOf('m', '2'), await stageOf('m', '3')]).toEqual(['Archived', 'Production', 'None']);
    expect(await r.count("activities WHERE principal_id = ?", bob.id)).toBe(0);
  });

  it('hides the model from callers without permission and reports a missing version', async () => {
    const body = { name: 'm', version: '1', stage: 'Staging', archive_existing_versions: false };
    expectError(await h.call('POST', `${MV}/transition-stage`, { token: alice.token, body }), 404, 'RESOURCE_DOES_NOT_EXIST', 'Registered Model with name=m not found');
    expectError(await h.call('POST', `${MV}/transition-stage`, { body: { ...body, version: '8' } }), 404, 'RESOURCE_DOES_NOT_EXIST', 'Model Version (name=m, version=8) not found');
  });

  it('the Databricks endpoint answers ModelVersionDatabricks with the caller\'s level and open requests', async () => {
    await r.grant('m', 'alice@x', 'CAN_MANAGE_PRODUCTION_VERSIONS');
    const id = await r.modelId('m');
    await h.db
      .prepare(`INSERT INTO activities (id, model_id, version, activity_type, from_stage, to_stage, user_id, principal_id, comment, is_open, created_at, updated_at)
                VALUES ('req1', ?, 2, 'REQUESTED_TRANSITION', 'None', 'Production', 'bob@x', 'x', 'please', 1, ?, ?)`)
      .bind(id, T0, T0)
      .run();
    h.clock.advance(9);
    const res = await h.expectOk('POST', DBX_TRANSITION, {
      token: alice.token,
      body: { name: 'm', version: 2, stage: 'production', archive_existing_versions: true, comment: 'ship it' },
    });
    expect(res).toEqual({
      model_version_databricks: {
        name: 'm',
        version: '2',
        creation_timestamp: T0,
        last_updated_timestamp: T0 + 9,
        user_id: 'admin',
        current_stage: 'Production',
        source: 's3://bucket/x/model',
        status: 'READY',
        tags: [],
        permission_level: 'CAN_MANAGE_PRODUCTION_VERSIONS',
        open_requests: [
          {
            id: 'req1',
            activity_type: 'REQUESTED_TRANSITION',
            from_stage: 'None',
            to_stage: 'Production',
            user_id: 'bob@x',
            comment: 'please',
            creation_timestamp: T0,
            last_updated_timestamp: T0,
          },
        ],
        email_subscription_status: 'DEFAULT',
      },
    });
    const applied = await h.db.prepare(`SELECT comment, user_id FROM activities WHERE activity_type = 'APPLIED_TRANSITION'`).all();
    expect(applied).toEqual([{ comment: 'ship it', user_id: 'alice@x' }]);
  });
});

describe('independent harness', () => {
  it('REGATE_MODEL_CREATORS does not limit creating versions (a model right, not a workspace right)', async () => {
    const hh = await makeHarness({ env: { ...DEFAULT_TEST_ENV, REGATE_MODEL_CREATORS: 'ml' } });
    const rr = registry(hh);
    const u = await hh.user('u@x');
    await rr.createModel('m');
    await rr.grant('m', 'u@x', 'CAN_EDIT');
    expect((await rr.createVersion('m', 's3://b/m', {}, u.token)).user_id).toBe('u@x');
  });
});
