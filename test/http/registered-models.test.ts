/**
 * @module registered-models.test
 * Registered-model endpoints through HTTP: exact entity shapes, every error shape, DELETE parameters from a
 * JSON body (MLflow) and the query string (SDK), rename keeping the id, get-latest-versions, tags, the
 * create right, and aliases. Search and list are in registry-search.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TEST_ENV, makeHarness, T0, type Harness, type Identity } from '../helpers/harness.ts';
import { DBX_GET, RM, expectError, registry } from '../helpers/registry.ts';

let h: Harness;
let r: ReturnType<typeof registry>;
let alice: Identity;
beforeEach(async () => {
  h = await makeHarness();
  r = registry(h);
  alice = await h.user('alice@x');
});

describe('create and get', () => {
  it('creates a model with exact fields and the creator as user_id', async () => {
    const res = await h.expectOk('POST', `${RM}/create`, {
      token: alice.token,
      body: { name: 'fraud', description: 'detects fraud', tags: [{ key: 'team', value: 'risk' }, { key: 'a', value: '' }] },
    });
    expect(res).toEqual({
      registered_model: {
        name: 'fraud',
        creation_timestamp: T0,
        last_updated_timestamp: T0,
        user_id: 'alice@x',
        description: 'detects fraud',
        latest_versions: [],
        tags: [{ key: 'a', value: '' }, { key: 'team', value: 'risk' }],
      },
    });
    const got = await h.expectOk('GET', `${RM}/get`, { token: alice.token, query: { name: 'fraud' } });
    expect(got).toEqual(res);
  });

  it('leaves out an empty description, as MLflow does', async () => {
    const m = await r.createModel('plain');
    expect(m).toEqual({ name: 'plain', creation_timestamp: T0, last_updated_timestamp: T0, user_id: 'admin', latest_versions: [], tags: [] });
  });

  it('the Databricks get adds the 32-hex id and the caller\'s own level', async () => {
    await r.createModel('m', alice.token);
    const mine = await h.expectOk('GET', DBX_GET, { token: alice.token, query: { name: 'm' } });
    expect(mine.registered_model_databricks).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      name: 'm',
      creation_timestamp: T0,
      last_updated_timestamp: T0,
      user_id: 'alice@x',
      latest_versions: [],
      tags: [],
      permission_level: 'CAN_MANAGE',
    });
    const bob = await h.user('bob@x');
    await r.grant('m', 'bob@x', 'CAN_READ');
    const theirs = await h.expectOk('GET', DBX_GET, { token: bob.token, query: { name: 'm' } });
    expect(theirs.registered_model_databricks.permission_level).toBe('CAN_READ');
    expect(theirs.registered_model_databricks.id).toBe(mine.registered_model_databricks.id);
  });

  it('writes the creator\'s CAN_MANAGE grant with the model', async () => {
    await r.createModel('m', alice.token);
    const id = await r.modelId('m');
    const g = await h.db.prepare('SELECT principal_id, level FROM grants WHERE object_id = ?').bind(id).all();
    expect(g).toEqual([{ principal_id: alice.id, level: 'CAN_MANAGE' }]);
  });

  it('refuses an existing name with RESOURCE_ALREADY_EXISTS and changes nothing', async () => {
    await r.createModel('dup', undefined, { description: 'first' });
    const res = await h.call('POST', `${RM}/create`, { token: alice.token, body: { name: 'dup', description: 'second' } });
    expectError(res, 400, 'RESOURCE_ALREADY_EXISTS', 'Registered Model (name=dup) already exists.');
    expect((await h.expectOk('GET', `${RM}/get`, { query: { name: 'dup' } })).registered_model.description).toBe('first');
    expect(await r.count('grants WHERE principal_id = ?', alice.id)).toBe(0);
  });

  it.each([
    ['missing name', {}, /name/],
    ['empty name', { name: '' }, /name/],
    ['over-long name', { name: 'x'.repeat(257) }, /256/],
    ['name not a string', { name: 5 }, /name/],
    ['tags not a list', { name: 'm', tags: 'a=b' }, /tags/],
    ['tag without key', { name: 'm', tags: [{ value: 'v' }] }, /key/],
    ['over-long tag key', { name: 'm', tags: [{ key: 'k'.repeat(251), value: 'v' }] }, /250/],
    ['over-long tag value', { name: 'm', tags: [{ key: 'k', value: 'v'.repeat(5001) }] }, /5000/],
  ])('refuses %s with INVALID_PARAMETER_VALUE', async (_n, body, message) => {
    const res = await h.call('POST', `${RM}/create`, { body });
    expectError(res, 400, 'INVALID_PARAMETER_VALUE', message);
    expect(await r.count('registered_models')).toBe(0);
  });

  it('accepts a 256-character name', async () => {
    expect((await r.createModel('n'.repeat(256))).name).toHaveLength(256);
  });

  it('answers malformed JSON with MALFORMED_REQUEST', async () => {
    const res = await h.call('POST', `${RM}/create`, { rawBody: '{"name":', headers: { 'Content-Type': 'application/json' } });
    expectError(res, 400, 'MALFORMED_REQUEST');
  });

  it('a missing model and a model the caller may not see get the same 404', async () => {
    await r.createModel('secret');
    for (const name of ['secret', 'nothing']) {
      const res = await h.call('GET', `${RM}/get`, { token: alice.token, query: { name } });
      expectError(res, 404, 'RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${name} not found`);
    }
    expectError(await h.call('GET', DBX_GET, { token: alice.token, query: { name: 'secret' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
  });
});

describe('the create right (REGATE_MODEL_CREATORS)', () => {
  it('lets every user create by default', async () => {
    const bob = await h.user('bob@x');
    expect((await r.createModel('b', bob.token)).user_id).toBe('bob@x');
  });

  it('admits only admins and (nested) members of the configured group', async () => {
    h = await makeHarness({ env: { ...DEFAULT_TEST_ENV, REGATE_MODEL_CREATORS: 'ml' } });
    r = registry(h);
    const outsider = await h.user('out@x');
    const member = await h.user('in@x');
    const nested = await h.user('nested@x');
    const inner = await h.group('ml-interns', [nested.id]);
    await h.group('ml', [member.id, inner.id]);

    const res = await h.call('POST', `${RM}/create`, { token: outsider.token, body: { name: 'x' } });
    expectError(res, 403, 'PERMISSION_DENIED', /out@x does not have permission to create registered models/);
    expect(await r.count('registered_models')).toBe(0);

    expect((await r.createModel('by-member', member.token)).user_id).toBe('in@x');
    expect((await r.createModel('by-nested', nested.token)).user_id).toBe('nested@x');
    expect((await r.createModel('by-admin')).user_id).toBe('admin');
  });

  it('admits only admins when the configured group does not exist', async () => {
    h = await makeHarness({ env: { ...DEFAULT_TEST_ENV, REGATE_MODEL_CREATORS: 'nobody-here' } });
    r = registry(h);
    const u = await h.user('u@x');
    expectError(await h.call('POST', `${RM}/create`, { token: u.token, body: { name: 'x' } }), 403, 'PERMISSION_DENIED');
    expect((await r.createModel('x')).name).toBe('x');
  });
});

describe('update, rename, delete', () => {
  it('updates the description and the last-updated time', async () => {
    await r.createModel('m', alice.token);
    h.clock.advance(5000);
    const res = await h.expectOk('PATCH', `${RM}/update`, { token: alice.token, body: { name: 'm', description: 'new' } });
    expect(res.registered_model).toMatchObject({ name: 'm', description: 'new', creation_timestamp: T0, last_updated_timestamp: T0 + 5000 });
  });

  it('needs CAN_EDIT to update: a reader gets 403 and nothing changes', async () => {
    await r.createModel('m', undefined, { description: 'orig' });
    await r.grant('m', 'alice@x', 'CAN_READ');
    const res = await h.call('PATCH', `${RM}/update`, { token: alice.token, body: { name: 'm', description: 'hacked' } });
    expectError(res, 403, 'PERMISSION_DENIED', /update the description/);
    expect((await h.expectOk('GET', `${RM}/get`, { query: { name: 'm' } })).registered_model.description).toBe('orig');
    await r.grant('m', 'alice@x', 'CAN_EDIT');
    await h.expectOk('PATCH', `${RM}/update`, { token: alice.token, body: { name: 'm', description: 'edited' } });
  });

  it('rename keeps the id, versions, tags and grants', async () => {
    await r.createModel('old', alice.token, { tags: [{ key: 't', value: '1' }] });
    await r.createVersion('old');
    await r.createVersion('old');
    const before = (await h.expectOk('GET', DBX_GET, { token: alice.token, query: { name: 'old' } })).registered_model_databricks;
    h.clock.advance(10);
    const res = await h.expectOk('POST', `${RM}/rename`, { token: alice.token, body: { name: 'old', new_name: 'new' } });
    expect(res.registered_model).toMatchObject({ name: 'new', last_updated_timestamp: T0 + 10, tags: [{ key: 't', value: '1' }] });
    const after = (await h.expectOk('GET', DBX_GET, { token: alice.token, query: { name: 'new' } })).registered_model_databricks;
    expect(after.id).toBe(before.id);
    expect(after.permission_level).toBe('CAN_MANAGE');
    expect(after.latest_versions).toEqual([expect.objectContaining({ name: 'new', version: '2', current_stage: 'None' })]);
    const v1 = await h.expectOk('GET', '/api/2.0/mlflow/model-versions/get', { query: { name: 'new', version: '1' } });
    expect(v1.model_version.name).toBe('new');
    expectError(await h.call('GET', `${RM}/get`, { query: { name: 'old' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    // The old name is free again.
    await r.createModel('old');
  });

  it('refuses renaming onto an existing name, and renaming without CAN_MANAGE', async () => {
    await r.createModel('a', alice.token);
    await r.createModel('b');
    expectError(
      await h.call('POST', `${RM}/rename`, { body: { name: 'a', new_name: 'b' } }),
      400,
      'RESOURCE_ALREADY_EXISTS',
      'Registered Model (name=b) already exists.',
    );
    expectError(await h.call('POST', `${RM}/rename`, { body: { name: 'a', new_name: 'x'.repeat(257) } }), 400, 'INVALID_PARAMETER_VALUE');
    expectError(await h.call('POST', `${RM}/rename`, { body: { name: 'a' } }), 400, 'INVALID_PARAMETER_VALUE', /new_name/);
    const bob = await h.user('bob@x');
    await r.grant('a', 'bob@x', 'CAN_MANAGE_PRODUCTION_VERSIONS');
    expectError(await h.call('POST', `${RM}/rename`, { token: bob.token, body: { name: 'a', new_name: 'c' } }), 403, 'PERMISSION_DENIED');
    expect(await r.count("registered_models WHERE name = 'a'")).toBe(1);
  });

  it('delete takes its name from a JSON body (MLflow) and removes versions, tags, activities, comments and grants', async () => {
    await r.createModel('gone', alice.token, { tags: [{ key: 't', value: 'v' }] });
    await r.createVersion('gone', 's3://bucket/x/model', { tags: [{ key: 'vt', value: '1' }] });
    const id = await r.modelId('gone');
    await h.db
      .prepare(`INSERT INTO activities (id, model_id, version, activity_type, from_stage, to_stage, user_id, principal_id, is_open, created_at, updated_at)
                VALUES ('a1', ?, 1, 'REQUESTED_TRANSITION', 'None', 'Staging', 'admin', 'x', 1, 0, 0)`)
      .bind(id)
      .run();
    await h.db
      .prepare(`INSERT INTO comments (id, model_id, version, user_id, principal_id, comment, created_at, updated_at)
                VALUES ('c1', ?, 1, 'admin', 'x', 'hi', 0, 0)`)
      .bind(id)
      .run();
    expect(await h.expectOk('DELETE', `${RM}/delete`, { token: alice.token, body: { name: 'gone' } })).toEqual({});
    for (const t of ['model_versions', 'model_tags', 'version_tags', 'activities', 'comments']) {
      expect(await r.count(`${t} WHERE model_id = ?`, id), t).toBe(0);
    }
    expect(await r.count('grants WHERE object_id = ?', id)).toBe(0);
    expect(await r.count('registered_models')).toBe(0);
    expectError(await h.call('GET', `${RM}/get`, { query: { name: 'gone' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    // A model made again under the same name is a new model, numbered from 1.
    await r.createModel('gone');
    expect((await r.createVersion('gone')).version).toBe('1');
    expect(await r.modelId('gone')).not.toBe(id);
  });

  it('delete takes its name from the query string (SDK)', async () => {
    await r.createModel('q');
    expect((await h.call('DELETE', `${RM}/delete`, { query: { name: 'q' } })).status).toBe(200);
    expect(await r.count('registered_models')).toBe(0);
  });

  it('delete needs CAN_MANAGE; a refused delete keeps everything', async () => {
    await r.createModel('keep');
    await r.createVersion('keep');
    await r.grant('keep', 'alice@x', 'CAN_MANAGE_PRODUCTION_VERSIONS');
    expectError(await h.call('DELETE', `${RM}/delete`, { token: alice.token, query: { name: 'keep' } }), 403, 'PERMISSION_DENIED', /delete/);
    expect(await r.count('registered_models')).toBe(1);
    expect(await r.count('model_versions')).toBe(1);
    expectError(await h.call('DELETE', `${RM}/delete`, { body: { name: 'none' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectError(await h.call('DELETE', `${RM}/delete`, {}), 400, 'INVALID_PARAMETER_VALUE');
  });
});

describe('tags', () => {
  it('sets, replaces and deletes tags (delete-tag by body or by query)', async () => {
    await r.createModel('m');
    await h.expectOk('POST', `${RM}/set-tag`, { body: { name: 'm', key: 'k', value: 'v1' } });
    await h.expectOk('POST', `${RM}/set-tag`, { body: { name: 'm', key: 'k', value: 'v2' } });
    await h.expectOk('POST', `${RM}/set-tag`, { body: { name: 'm', key: 'j', value: '' } });
    let m = (await h.expectOk('GET', `${RM}/get`, { query: { name: 'm' } })).registered_model;
    expect(m.tags).toEqual([{ key: 'j', value: '' }, { key: 'k', value: 'v2' }]);
    await h.expectOk('DELETE', `${RM}/delete-tag`, { body: { name: 'm', key: 'k' } });
    await h.expectOk('DELETE', `${RM}/delete-tag`, { query: { name: 'm', key: 'j' } });
    // Deleting a tag that is not set is not an error.
    await h.expectOk('DELETE', `${RM}/delete-tag`, { query: { name: 'm', key: 'j' } });
    m = (await h.expectOk('GET', `${RM}/get`, { query: { name: 'm' } })).registered_model;
    expect(m.tags).toEqual([]);
  });

  it('a reader\'s set-tag is refused with 403 and the tag is absent afterwards', async () => {
    await r.createModel('m', undefined, { tags: [{ key: 'keep', value: '1' }] });
    await r.grant('m', 'alice@x', 'CAN_READ');
    expectError(await h.call('POST', `${RM}/set-tag`, { token: alice.token, body: { name: 'm', key: 'k', value: 'v' } }), 403, 'PERMISSION_DENIED', /edit tags/);
    expectError(await h.call('DELETE', `${RM}/delete-tag`, { token: alice.token, query: { name: 'm', key: 'keep' } }), 403, 'PERMISSION_DENIED');
    const m = (await h.expectOk('GET', `${RM}/get`, { token: alice.token, query: { name: 'm' } })).registered_model;
    expect(m.tags).toEqual([{ key: 'keep', value: '1' }]);
    await r.grant('m', 'alice@x', 'CAN_EDIT');
    await h.expectOk('POST', `${RM}/set-tag`, { token: alice.token, body: { name: 'm', key: 'k', value: 'v' } });
  });

  it('validates tag keys and values', async () => {
    await r.createModel('m');
    expectError(await h.call('POST', `${RM}/set-tag`, { body: { name: 'm', key: 'k'.repeat(251), value: 'v' } }), 400, 'INVALID_PARAMETER_VALUE');
    expectError(await h.call('POST', `${RM}/set-tag`, { body: { name: 'm', key: 'k', value: 'v'.repeat(5001) } }), 400, 'INVALID_PARAMETER_VALUE');
    expectError(await h.call('POST', `${RM}/set-tag`, { body: { name: 'm', key: 'k' } }), 400, 'INVALID_PARAMETER_VALUE', /value/);
    expect(await r.count('model_tags')).toBe(0);
  });
});

describe('get-latest-versions', () => {
  async function fourStages() {
    await r.createModel('m');
    for (let i = 0; i < 6; i++) await r.createVersion('m');
    await r.transition('m', '1', 'Production');
    await r.transition('m', '2', 'Production');
    await r.transition('m', '3', 'Staging');
    await r.transition('m', '4', 'Archived');
    // 5 and 6 stay in None.
  }
  const versionsOf = (res: { model_versions: Array<{ version: string; current_stage: string }> }) =>
    res.model_versions.map((v) => [v.current_stage, v.version]);

  it('matches stages case-insensitively (models:/m/production sends it as written)', async () => {
    await fourStages();
    const res = await h.expectOk('POST', `${RM}/get-latest-versions`, { body: { name: 'm', stages: ['production'] } });
    expect(versionsOf(res)).toEqual([['Production', '2']]);
    expect(res.model_versions[0]).toMatchObject({ name: 'm', version: '2', status: 'READY' });
  });

  it('with no stages returns the latest of every stage, None included', async () => {
    await fourStages();
    const res = await h.expectOk('POST', `${RM}/get-latest-versions`, { body: { name: 'm' } });
    expect(versionsOf(res)).toEqual([['None', '6'], ['Staging', '3'], ['Production', '2'], ['Archived', '4']]);
    const model = (await h.expectOk('GET', `${RM}/get`, { query: { name: 'm' } })).registered_model;
    expect(model.latest_versions.map((v: { version: string }) => v.version)).toEqual(['6', '3', '2', '4']);
  });

  it('answers the GET fallback with repeated stages, and an empty list for an empty stage', async () => {
    await fourStages();
    const res = await h.expectOk('GET', `${RM}/get-latest-versions`, { query: { name: 'm', stages: ['STAGING', 'None'] } });
    expect(versionsOf(res)).toEqual([['None', '6'], ['Staging', '3']]);
    await r.createModel('empty');
    expect(await h.expectOk('POST', `${RM}/get-latest-versions`, { body: { name: 'empty', stages: ['Production'] } })).toEqual({ model_versions: [] });
  });

  it('refuses an unknown stage and hides models the caller may not see', async () => {
    await fourStages();
    expectError(await h.call('POST', `${RM}/get-latest-versions`, { body: { name: 'm', stages: ['Prod'] } }), 400, 'INVALID_PARAMETER_VALUE', /stage/);
    expectError(await h.call('POST', `${RM}/get-latest-versions`, { token: alice.token, body: { name: 'm' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
  });
});

describe('aliases', () => {
  it.each(['POST', 'DELETE', 'GET'])('%s registered-models/alias answers ENDPOINT_NOT_FOUND pointing to Unity Catalog', async (method) => {
    await r.createModel('m');
    const res = await h.call(method, `${RM}/alias`, {
      ...(method === 'GET' ? { query: { name: 'm', alias: 'champion' } } : { body: { name: 'm', alias: 'champion', version: '1' } }),
    });
    expectError(res, 404, 'ENDPOINT_NOT_FOUND', /not supported in the Workspace Model Registry.*Unity Catalog/);
  });
});
