/**
 * @module transition-requests.test
 * Transition requests (create, list, approve, reject, cancel) and comments through HTTP: the lifecycle,
 * the per-viewer available_actions, the stage rule for deciding, the creator's right to cancel, comment
 * authorship, and validation.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TEST_ENV, makeHarness, T0, type Harness, type Identity } from '../helpers/harness.ts';

/** Versions here come from s3:// sources, recorded as given (no artifacts are served in these tests). */
const ENV = { ...DEFAULT_TEST_ENV, REGATE_EXTERNAL_SOURCE_PREFIXES: 's3://bucket/' };

const TR = '/api/2.0/mlflow/transition-requests';
const CM = '/api/2.0/mlflow/comments';
const MV = '/api/2.0/mlflow/model-versions';
const SOURCE = 's3://bucket/models/m';

let h: Harness;
let owner: Identity; // created the model: CAN_MANAGE
let reader: Identity; // CAN_READ
let editor: Identity; // CAN_EDIT
let stager: Identity; // CAN_MANAGE_STAGING_VERSIONS
let producer: Identity; // CAN_MANAGE_PRODUCTION_VERSIONS
let stranger: Identity; // no permission

beforeEach(async () => {
  h = await makeHarness({ env: ENV });
  owner = await h.user('owner@x');
  reader = await h.user('reader@x');
  editor = await h.user('editor@x');
  stager = await h.user('stager@x');
  producer = await h.user('producer@x');
  stranger = await h.user('stranger@x');
  await h.expectOk('POST', '/api/2.0/mlflow/registered-models/create', { token: owner.token, body: { name: 'm' } });
  for (let i = 0; i < 2; i++) await h.expectOk('POST', `${MV}/create`, { token: owner.token, body: { name: 'm', source: SOURCE } });
  const id = (await h.expectOk('GET', '/api/2.0/mlflow/databricks/registered-models/get', { query: { name: 'm' } }))
    .registered_model_databricks.id;
  await h.expectOk('PATCH', `/api/2.0/permissions/registered-models/${id}`, {
    body: {
      access_control_list: [
        { user_name: 'reader@x', permission_level: 'CAN_READ' },
        { user_name: 'editor@x', permission_level: 'CAN_EDIT' },
        { user_name: 'stager@x', permission_level: 'CAN_MANAGE_STAGING_VERSIONS' },
        { user_name: 'producer@x', permission_level: 'CAN_MANAGE_PRODUCTION_VERSIONS' },
      ],
    },
  });
});

const stageOf = async (version: string) =>
  (await h.expectOk('GET', `${MV}/get`, { query: { name: 'm', version } })).model_version.current_stage;
const list = async (who: Identity, version = '1') =>
  (await h.expectOk('GET', `${TR}/list`, { token: who.token, query: { name: 'm', version } })).requests;
const request = (who: Identity, stage: string, version = '1', comment?: string) =>
  h.call('POST', `${TR}/create`, { token: who.token, body: { name: 'm', version, stage, ...(comment ? { comment } : {}) } });

describe('transition request lifecycle', () => {
  it('a reader requests, viewers see their own actions, a staging manager approves and the version moves', async () => {
    h.clock.advance(5);
    const created = await request(reader, 'staging', '1', 'please');
    expect(created.status).toBe(200);
    expect(created.json.request).toMatchObject({
      to_stage: 'Staging',
      comment: 'please',
      creation_timestamp: T0 + 5,
      user_id: 'reader@x',
      available_actions: ['CANCEL_TRANSITION_REQUEST'],
    });

    const [mine] = await list(reader);
    expect(mine).toMatchObject({
      activity_type: 'REQUESTED_TRANSITION',
      from_stage: 'None',
      to_stage: 'Staging',
      user_id: 'reader@x',
      comment: 'please',
      available_actions: ['CANCEL_TRANSITION_REQUEST'],
    });
    expect(typeof mine.id).toBe('string');
    expect((await list(editor))[0].available_actions).toEqual([]);
    expect((await list(stager))[0].available_actions).toEqual(['APPROVE_TRANSITION_REQUEST', 'REJECT_TRANSITION_REQUEST']);
    expect((await list(owner))[0].available_actions).toEqual([
      'APPROVE_TRANSITION_REQUEST',
      'REJECT_TRANSITION_REQUEST',
      'CANCEL_TRANSITION_REQUEST',
    ]);

    h.clock.advance(10);
    const approved = await h.expectOk('POST', `${TR}/approve`, {
      token: stager.token,
      body: { name: 'm', version: '1', stage: 'Staging', archive_existing_versions: false, comment: 'ok' },
    });
    expect(approved.activity).toMatchObject({
      activity_type: 'APPROVED_REQUEST',
      from_stage: 'None',
      to_stage: 'Staging',
      user_id: 'stager@x',
      comment: 'ok',
      creation_timestamp: T0 + 15,
    });
    expect(await stageOf('1')).toBe('Staging');
    expect(await list(owner)).toEqual([]);
  });

  it('approving needs the stage rule of the transition: staging managers cannot approve Production', async () => {
    await request(reader, 'Production');
    expect((await list(stager))[0].available_actions).toEqual([]);
    expect((await list(producer))[0].available_actions).toEqual(['APPROVE_TRANSITION_REQUEST', 'REJECT_TRANSITION_REQUEST']);
    for (const path of ['approve', 'reject']) {
      for (const who of [stager, editor, reader]) {
        const r = await h.call('POST', `${TR}/${path}`, {
          token: who.token,
          body: { name: 'm', version: '1', stage: 'Production', archive_existing_versions: false },
        });
        expect(r.status, `${who.name} ${path}`).toBe(403);
        expect(r.json.error_code).toBe('PERMISSION_DENIED');
      }
    }
    expect(await list(owner)).toHaveLength(1);
    expect(await stageOf('1')).toBe('None');
    await h.expectOk('POST', `${TR}/approve`, {
      token: producer.token,
      body: { name: 'm', version: '1', stage: 'Production', archive_existing_versions: false },
    });
    expect(await stageOf('1')).toBe('Production');
  });

  it('approving with archive_existing_versions archives the version previously in the stage', async () => {
    await h.expectOk('POST', `${MV}/transition-stage`, { body: { name: 'm', version: '1', stage: 'Production', archive_existing_versions: false } });
    await request(reader, 'Production', '2');
    await h.expectOk('POST', `${TR}/approve`, {
      token: producer.token,
      body: { name: 'm', version: '2', stage: 'Production', archive_existing_versions: true },
    });
    expect([await stageOf('1'), await stageOf('2')]).toEqual(['Archived', 'Production']);
  });

  it('approving closes every open request for that version and stage, and only those', async () => {
    await request(reader, 'Staging');
    await request(editor, 'Staging');
    await request(editor, 'Production');
    expect(await list(owner)).toHaveLength(3);
    await h.expectOk('POST', `${TR}/approve`, {
      token: owner.token,
      body: { name: 'm', version: '1', stage: 'Staging', archive_existing_versions: false },
    });
    const left = await list(owner);
    expect(left.map((r: { to_stage: string; user_id: string }) => [r.to_stage, r.user_id])).toEqual([['Production', 'editor@x']]);
    // The remaining request's from_stage is where the version was when it was asked.
    expect(left[0].from_stage).toBe('None');
  });

  it('rejecting closes the request and leaves the stage alone', async () => {
    await request(reader, 'Staging');
    const r = await h.expectOk('POST', `${TR}/reject`, { token: stager.token, body: { name: 'm', version: '1', stage: 'Staging', comment: 'no' } });
    expect(r.activity).toMatchObject({ activity_type: 'REJECTED_REQUEST', to_stage: 'Staging', user_id: 'stager@x', comment: 'no' });
    expect(await list(owner)).toEqual([]);
    expect(await stageOf('1')).toBe('None');
  });

  it('the creator or CAN_MANAGE may cancel; nobody else', async () => {
    await request(reader, 'Staging');
    await request(editor, 'Staging');
    const cancel = (who: Identity, creator: string) =>
      h.call('DELETE', `${TR}/delete`, { token: who.token, query: { name: 'm', version: '1', stage: 'Staging', creator } });
    for (const who of [editor, stager, producer]) {
      const r = await cancel(who, 'reader@x');
      expect(r.status, who.name).toBe(403);
      expect(r.json.error_code).toBe('PERMISSION_DENIED');
    }
    expect(await list(owner)).toHaveLength(2);
    const own = await cancel(reader, 'reader@x');
    expect(own.status).toBe(200);
    expect(own.json.activity).toMatchObject({ activity_type: 'CANCELLED_REQUEST', to_stage: 'Staging', user_id: 'reader@x' });
    expect((await list(owner)).map((r: { user_id: string }) => r.user_id)).toEqual(['editor@x']);
    expect((await cancel(owner, 'editor@x')).status).toBe(200);
    expect(await list(owner)).toEqual([]);
    const again = await cancel(owner, 'editor@x');
    expect(again.status).toBe(404);
    expect(again.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('deciding a request that is not open is RESOURCE_DOES_NOT_EXIST', async () => {
    for (const path of ['approve', 'reject']) {
      const r = await h.call('POST', `${TR}/${path}`, { body: { name: 'm', version: '1', stage: 'Staging', archive_existing_versions: false } });
      expect(r.status).toBe(404);
      expect(r.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    }
  });

  it('a caller without permission is told the model does not exist, on every endpoint', async () => {
    await request(reader, 'Staging');
    const missing = await h.call('GET', `${TR}/list`, { token: stranger.token, query: { name: 'nope', version: '1' } });
    const calls = [
      () => h.call('GET', `${TR}/list`, { token: stranger.token, query: { name: 'm', version: '1' } }),
      () => request(stranger, 'Staging'),
      () => h.call('POST', `${TR}/approve`, { token: stranger.token, body: { name: 'm', version: '1', stage: 'Staging', archive_existing_versions: false } }),
      () => h.call('POST', `${TR}/reject`, { token: stranger.token, body: { name: 'm', version: '1', stage: 'Staging' } }),
      () => h.call('DELETE', `${TR}/delete`, { token: stranger.token, query: { name: 'm', version: '1', stage: 'Staging', creator: 'reader@x' } }),
      () => h.call('POST', `${CM}/create`, { token: stranger.token, body: { name: 'm', version: '1', comment: 'hi' } }),
    ];
    for (const call of calls) {
      const r = await call();
      expect(r.status).toBe(404);
      expect(r.json).toEqual({ error_code: 'RESOURCE_DOES_NOT_EXIST', message: missing.json.message.replace('nope', 'm') });
    }
    expect(await list(owner)).toHaveLength(1);
  });
});

describe('validation', () => {
  it('missing or bad parameters are INVALID_PARAMETER_VALUE; missing models and versions are 404', async () => {
    const bad = [
      { version: '1', stage: 'Staging' },
      { name: 'm', stage: 'Staging' },
      { name: 'm', version: 'one', stage: 'Staging' },
      { name: 'm', version: '0', stage: 'Staging' },
      { name: 'm', version: '1' },
      { name: 'm', version: '1', stage: 'Prod' },
      { name: 'm', version: '1', stage: 'None' }, // already there
    ];
    for (const body of bad) {
      const r = await h.call('POST', `${TR}/create`, { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error_code).toBe('INVALID_PARAMETER_VALUE');
    }
    const noArchive = await h.call('POST', `${TR}/approve`, { body: { name: 'm', version: '1', stage: 'Staging' } });
    expect(noArchive.status).toBe(400);
    expect(noArchive.json.message).toContain('archive_existing_versions');
    const noCreator = await h.call('DELETE', `${TR}/delete`, { query: { name: 'm', version: '1', stage: 'Staging' } });
    expect(noCreator.status).toBe(400);
    expect((await h.call('GET', `${TR}/list`, { query: { name: 'm', version: 'x' } })).status).toBe(400);
    for (const body of [{ name: 'nope', version: '1', stage: 'Staging' }, { name: 'm', version: '9', stage: 'Staging' }]) {
      const r = await h.call('POST', `${TR}/create`, { body });
      expect(r.status).toBe(404);
      expect(r.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    }
    expect(await list(owner)).toEqual([]);
  });

  it('one open request per creator, version and stage', async () => {
    expect((await request(reader, 'Staging')).status).toBe(200);
    const dup = await request(reader, 'STAGING');
    expect(dup.status).toBe(400);
    expect(dup.json.error_code).toBe('RESOURCE_ALREADY_EXISTS');
    expect((await request(reader, 'Staging', '2')).status).toBe(200);
    expect((await request(editor, 'Staging')).status).toBe(200);
  });
});

describe('comments', () => {
  it('any reader comments; only the author edits or deletes', async () => {
    h.clock.advance(1);
    const c = await h.expectOk('POST', `${CM}/create`, { token: reader.token, body: { name: 'm', version: '1', comment: 'looks good' } });
    expect(c.comment).toEqual({
      id: c.comment.id,
      comment: 'looks good',
      user_id: 'reader@x',
      creation_timestamp: T0 + 1,
      last_updated_timestamp: T0 + 1,
      available_actions: ['EDIT_COMMENT', 'DELETE_COMMENT'],
    });
    const id = c.comment.id;

    for (const who of [owner, editor]) {
      for (const [method, path, o] of [
        ['PATCH', `${CM}/update`, { body: { id, comment: 'hijacked' } }],
        ['DELETE', `${CM}/delete`, { query: { id } }],
      ] as const) {
        const r = await h.call(method, path, { token: who.token, ...o });
        expect(r.status, `${who.name} ${method}`).toBe(403);
        expect(r.json.error_code).toBe('PERMISSION_DENIED');
      }
    }
    const hidden = await h.call('PATCH', `${CM}/update`, { token: stranger.token, body: { id, comment: 'x' } });
    const missing = await h.call('PATCH', `${CM}/update`, { token: stranger.token, body: { id: 'no-such-id', comment: 'x' } });
    expect(hidden.status).toBe(404);
    expect(hidden.json).toEqual({ error_code: 'RESOURCE_DOES_NOT_EXIST', message: missing.json.message.replace('no-such-id', id) });
    expect((await h.call('DELETE', `${CM}/delete`, { token: stranger.token, query: { id } })).status).toBe(404);

    h.clock.advance(100);
    const edited = await h.expectOk('PATCH', `${CM}/update`, { token: reader.token, body: { id, comment: 'looks great' } });
    expect(edited.comment).toMatchObject({ id, comment: 'looks great', creation_timestamp: T0 + 1, last_updated_timestamp: T0 + 101 });
    expect(await h.expectOk('DELETE', `${CM}/delete`, { token: reader.token, query: { id } })).toEqual({});
    expect((await h.call('PATCH', `${CM}/update`, { token: reader.token, body: { id, comment: 'x' } })).status).toBe(404);
  });

  it('validates its parameters', async () => {
    for (const body of [{ name: 'm', version: '1' }, { name: 'm', version: '1', comment: '' }, { name: 'm', comment: 'x' }]) {
      const r = await h.call('POST', `${CM}/create`, { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error_code).toBe('INVALID_PARAMETER_VALUE');
    }
    const r = await h.call('POST', `${CM}/create`, { body: { name: 'm', version: '7', comment: 'x' } });
    expect(r.status).toBe(404);
    expect((await h.call('PATCH', `${CM}/update`, { body: { comment: 'x' } })).status).toBe(400);
    expect((await h.call('DELETE', `${CM}/delete`, {})).status).toBe(400);
  });
});

describe('request creators and comment authors are principals, not names (item 7)', () => {
  const cancel = (who: Identity, creator: string) =>
    h.call('DELETE', `${TR}/delete`, { token: who.token, query: { name: 'm', version: '1', stage: 'Staging', creator } });
  const grantRead = async (body: Record<string, string>) => {
    const id = (await h.expectOk('GET', '/api/2.0/mlflow/databricks/registered-models/get', { query: { name: 'm' } })).registered_model_databricks.id;
    await h.expectOk('PATCH', `/api/2.0/permissions/registered-models/${id}`, { body: { access_control_list: [{ ...body, permission_level: 'CAN_READ' }] } });
  };

  it('a user deleted and made again under the same name cannot cancel, edit or delete what the old one made', async () => {
    expect((await request(reader, 'Staging')).status).toBe(200);
    const c = await h.expectOk('POST', `${CM}/create`, { token: reader.token, body: { name: 'm', version: '1', comment: 'mine' } });
    await h.expectOk('DELETE', `/api/2.0/preview/scim/v2/Users/${reader.id}`);
    const again = await h.user('reader@x');
    expect(again.id).not.toBe(reader.id);
    await grantRead({ user_name: 'reader@x' });

    const [req] = await list(again);
    expect(req.user_id).toBe('reader@x');
    expect(req.available_actions).not.toContain('CANCEL_TRANSITION_REQUEST');
    const r = await cancel(again, 'reader@x');
    expect(r.status).toBe(403);
    expect(r.json.error_code).toBe('PERMISSION_DENIED');
    expect(await list(owner)).toHaveLength(1);

    const comments = c.comment.id as string;
    for (const [method, path, o] of [
      ['PATCH', `${CM}/update`, { body: { id: comments, comment: 'hijacked' } }],
      ['DELETE', `${CM}/delete`, { query: { id: comments } }],
    ] as const) {
      const x = await h.call(method, path, { token: again.token, ...o });
      expect(x.status, method).toBe(403);
    }
  });

  it("a service principal whose application id is a user's name cancels only its own requests", async () => {
    const sp = await h.expectOk('POST', '/api/2.0/preview/scim/v2/ServicePrincipals', { body: { applicationId: 'reader@x', displayName: 'twin' } });
    const t = await h.expectOk('POST', '/api/2.0/token-management/on-behalf-of/tokens', { body: { application_id: 'reader@x' } });
    const twin: Identity = { id: sp.id, name: 'reader@x', token: t.token_value };
    await grantRead({ service_principal_name: 'reader@x' });

    expect((await request(reader, 'Staging')).status).toBe(200);
    const [req] = await list(twin);
    expect(req.available_actions).not.toContain('CANCEL_TRANSITION_REQUEST');
    const r = await cancel(twin, 'reader@x');
    expect(r.status).toBe(403);
    expect(r.json.error_code).toBe('PERMISSION_DENIED');

    // With a request of its own (recorded under the same name), cancelling closes its own and leaves the user's.
    expect((await request(twin, 'Staging')).status).toBe(200);
    expect(await list(owner)).toHaveLength(2);
    expect((await cancel(twin, 'reader@x')).status).toBe(200);
    const left = await h.expectOk('GET', `${TR}/list`, { token: reader.token, query: { name: 'm', version: '1' } });
    expect(left.requests).toHaveLength(1);
    expect(left.requests[0].available_actions).toContain('CANCEL_TRANSITION_REQUEST');
    // The model's manager cancels every open request recorded under that name.
    expect((await request(twin, 'Staging')).status).toBe(200);
    expect((await cancel(owner, 'reader@x')).status).toBe(200);
    expect(await list(owner)).toEqual([]);
  });
});
