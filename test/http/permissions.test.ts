/**
 * @module permissions.test
 * The Permissions API for registered models through HTTP: per-model and registry-wide (`root`) GET, PUT
 * and PATCH, inherited entries, permissionLevels, who may call what, error shapes, and grants staying with
 * the model id across rename and not surviving delete.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TEST_ENV, makeHarness, type Harness, type Identity } from '../helpers/harness.ts';

/** Versions here come from s3:// sources, recorded as given (no artifacts are served in these tests). */
const ENV = { ...DEFAULT_TEST_ENV, REGATE_EXTERNAL_SOURCE_PREFIXES: 's3://bucket/' };

const P = '/api/2.0/permissions/registered-models';
const RM = '/api/2.0/mlflow/registered-models';
const FROM_ROOT = ['/registered-models/'];

let h: Harness;
let alice: Identity;
beforeEach(async () => {
  h = await makeHarness({ env: ENV });
  alice = await h.user('alice@x');
});

async function createModel(name: string, token: string): Promise<string> {
  await h.expectOk('POST', `${RM}/create`, { token, body: { name } });
  return modelId(name);
}

async function modelId(name: string): Promise<string> {
  const r = await h.expectOk('GET', '/api/2.0/mlflow/databricks/registered-models/get', { query: { name } });
  return r.registered_model_databricks.id;
}

async function epoch(id: string): Promise<number> {
  const r = await h.db.prepare('SELECT acl_epoch FROM registered_models WHERE id = ?').bind(id).first<{ acl_epoch: number }>();
  return r!.acl_epoch;
}

type Entry = { user_name?: string; group_name?: string; service_principal_name?: string; all_permissions: unknown[] };
const direct = (permission_level: string) => [{ permission_level, inherited: false }];
const viaRoot = (permission_level: string) => [{ permission_level, inherited: true, inherited_from_object: FROM_ROOT }];
/** The create-model right: inherited from the REGATE_MODEL_CREATORS setting (see test/http/root-acl.test.ts). */
const fromCreatorsSetting = [{ permission_level: 'CAN_CREATE_REGISTERED_MODEL', inherited: true, inherited_from_object: ['/settings/REGATE_MODEL_CREATORS'] }];
const entryOf = (acl: Entry[], key: 'user_name' | 'group_name' | 'service_principal_name', name: string) =>
  acl.find((e) => e[key] === name);

describe('per-model permissions', () => {
  it('a new model shows its creator\'s direct CAN_MANAGE and admins inherited from root', async () => {
    const id = await createModel('m1', alice.token);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const r = await h.expectOk('GET', `${P}/${id}`, { token: alice.token });
    expect(r.object_id).toBe(`/registered-models/${id}`);
    expect(r.object_type).toBe('registered-model');
    expect(r.access_control_list).toEqual([
      { user_name: 'alice@x', display_name: 'alice@x', all_permissions: direct('CAN_MANAGE') },
      { group_name: 'admins', all_permissions: viaRoot('CAN_MANAGE') },
    ]);
  });

  it('PATCH adds and changes grants for users, service principals and groups, and bumps the ACL epoch', async () => {
    const id = await createModel('m2', alice.token);
    const bob = await h.user('bob@x');
    const sp = await h.servicePrincipal('etl-bot');
    const team = await h.group('team', [bob.id]);
    const before = await epoch(id);
    const r = await h.expectOk('PATCH', `${P}/${id}`, {
      token: alice.token,
      body: {
        access_control_list: [
          { user_name: 'bob@x', permission_level: 'CAN_READ' },
          { service_principal_name: sp.name, permission_level: 'CAN_MANAGE_STAGING_VERSIONS' },
          { group_name: team.name, permission_level: 'CAN_EDIT' },
        ],
      },
    });
    expect(await epoch(id)).toBe(before + 1);
    const acl = r.access_control_list as Entry[];
    expect(entryOf(acl, 'user_name', 'bob@x')).toEqual({ user_name: 'bob@x', display_name: 'bob@x', all_permissions: direct('CAN_READ') });
    expect(entryOf(acl, 'service_principal_name', sp.name)).toEqual({
      service_principal_name: sp.name,
      display_name: 'etl-bot',
      all_permissions: direct('CAN_MANAGE_STAGING_VERSIONS'),
    });
    expect(entryOf(acl, 'group_name', 'team')).toEqual({ group_name: 'team', all_permissions: direct('CAN_EDIT') });
    // Alice's own grant is untouched by PATCH.
    expect(entryOf(acl, 'user_name', 'alice@x')?.all_permissions).toEqual(direct('CAN_MANAGE'));

    const changed = await h.expectOk('PATCH', `${P}/${id}`, {
      token: alice.token,
      body: { access_control_list: [{ user_name: 'bob@x', permission_level: 'CAN_MANAGE_PRODUCTION_VERSIONS' }] },
    });
    expect(entryOf(changed.access_control_list, 'user_name', 'bob@x')?.all_permissions).toEqual(direct('CAN_MANAGE_PRODUCTION_VERSIONS'));
    expect(await epoch(id)).toBe(before + 2);
    // GET answers what PATCH answered.
    expect(await h.expectOk('GET', `${P}/${id}`, { token: alice.token })).toEqual(changed);
  });

  it('the same principal named twice in one request gets the higher level', async () => {
    const id = await createModel('m-dup', alice.token);
    await h.user('bob@x');
    const r = await h.expectOk('PATCH', `${P}/${id}`, {
      body: {
        access_control_list: [{ user_name: 'bob@x', permission_level: 'CAN_EDIT' }, { user_name: 'bob@x', permission_level: 'CAN_READ' }],
      },
    });
    expect(entryOf(r.access_control_list, 'user_name', 'bob@x')?.all_permissions).toEqual(direct('CAN_EDIT'));
  });

  it('PUT replaces every direct grant; an empty or missing list removes them all, admins stay', async () => {
    const id = await createModel('m3', alice.token);
    const bob = await h.user('bob@x');
    await h.user('carol@x');
    await h.expectOk('PATCH', `${P}/${id}`, {
      body: { access_control_list: [{ user_name: 'carol@x', permission_level: 'CAN_EDIT' }] },
    });
    const r = await h.expectOk('PUT', `${P}/${id}`, {
      token: alice.token,
      body: { access_control_list: [{ user_name: 'bob@x', permission_level: 'CAN_MANAGE' }] },
    });
    expect((r.access_control_list as Entry[]).map((e) => e.user_name ?? e.group_name)).toEqual(['bob@x', 'admins']);
    // Alice gave her own CAN_MANAGE away: she now cannot even see the model.
    const gone = await h.call('GET', `${P}/${id}`, { token: alice.token });
    expect(gone.status).toBe(404);
    expect(gone.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST');

    const before = await epoch(id);
    const empty = await h.expectOk('PUT', `${P}/${id}`, { token: bob.token, body: { access_control_list: [] } });
    expect(empty.access_control_list).toEqual([
      { group_name: 'admins', all_permissions: viaRoot('CAN_MANAGE') },
    ]);
    expect(await epoch(id)).toBe(before + 1);
    expect((await h.call('GET', `${P}/${id}`, { token: bob.token })).status).toBe(404);

    await h.expectOk('PATCH', `${P}/${id}`, { body: { access_control_list: [{ user_name: 'bob@x', permission_level: 'CAN_READ' }] } });
    const missing = await h.expectOk('PUT', `${P}/${id}`, { body: {} });
    expect((missing.access_control_list as Entry[]).map((e) => e.group_name)).toEqual(['admins']);
  });

  it('a principal with a direct and a registry-wide grant shows both, direct first', async () => {
    const id = await createModel('m4', alice.token);
    await h.user('bob@x');
    await h.expectOk('PATCH', `${P}/root`, { body: { access_control_list: [{ user_name: 'bob@x', permission_level: 'CAN_EDIT' }] } });
    await h.expectOk('PATCH', `${P}/${id}`, { body: { access_control_list: [{ user_name: 'bob@x', permission_level: 'CAN_READ' }] } });
    const r = await h.expectOk('GET', `${P}/${id}`);
    expect(entryOf(r.access_control_list, 'user_name', 'bob@x')?.all_permissions).toEqual([...direct('CAN_READ'), ...viaRoot('CAN_EDIT')]);
  });
});

describe('who may read and change a model\'s permissions', () => {
  it('CAN_MANAGE may; lower levels get 403; no permission gets the missing-model answer', async () => {
    const id = await createModel('w1', alice.token);
    const reader = await h.user('reader@x');
    const prod = await h.user('prod@x');
    const stranger = await h.user('stranger@x');
    await h.expectOk('PATCH', `${P}/${id}`, {
      token: alice.token,
      body: {
        access_control_list: [
          { user_name: 'reader@x', permission_level: 'CAN_READ' },
          { user_name: 'prod@x', permission_level: 'CAN_MANAGE_PRODUCTION_VERSIONS' },
        ],
      },
    });
    const before = await h.expectOk('GET', `${P}/${id}`);
    for (const who of [reader, prod]) {
      for (const [method, body] of [['GET', undefined], ['PATCH', { access_control_list: [] }], ['PUT', { access_control_list: [] }]] as const) {
        const r = await h.call(method, `${P}/${id}`, { token: who.token, body });
        expect(r.status, `${who.name} ${method}`).toBe(403);
        expect(r.json.error_code).toBe('PERMISSION_DENIED');
      }
    }
    const missingId = '0123456789abcdef0123456789abcdef';
    const missing = await h.call('GET', `${P}/${missingId}`, { token: stranger.token });
    for (const method of ['GET', 'PATCH', 'PUT'] as const) {
      const r = await h.call(method, `${P}/${id}`, { token: stranger.token, body: method === 'GET' ? undefined : { access_control_list: [] } });
      expect(r.status).toBe(404);
      expect(r.json).toEqual({ error_code: missing.json.error_code, message: missing.json.message.replace(missingId, id) });
    }
    expect(missing.status).toBe(404);
    expect(missing.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    // Nothing changed.
    expect(await h.expectOk('GET', `${P}/${id}`)).toEqual(before);
  });

  it('permissionLevels needs CAN_READ on the model and lists the five levels', async () => {
    const id = await createModel('w2', alice.token);
    const reader = await h.user('reader@x');
    const stranger = await h.user('stranger@x');
    await h.expectOk('PATCH', `${P}/${id}`, { body: { access_control_list: [{ user_name: 'reader@x', permission_level: 'CAN_READ' }] } });
    const r = await h.expectOk('GET', `${P}/${id}/permissionLevels`, { token: reader.token });
    expect(r.permission_levels.map((l: { permission_level: string }) => l.permission_level)).toEqual([
      'CAN_READ',
      'CAN_EDIT',
      'CAN_MANAGE_STAGING_VERSIONS',
      'CAN_MANAGE_PRODUCTION_VERSIONS',
      'CAN_MANAGE',
    ]);
    for (const l of r.permission_levels) expect(typeof l.description === 'string' && l.description.length > 20).toBe(true);
    const hidden = await h.call('GET', `${P}/${id}/permissionLevels`, { token: stranger.token });
    expect(hidden.status).toBe(404);
    expect(hidden.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('the SDK\'s generic permissions API path for "registered-models" is the same route', async () => {
    const id = await createModel('w3', alice.token);
    // databricks-sdk iam.PermissionsAPI.get(request_object_type, request_object_id)
    const generic = (type: string, oid: string) => `/api/2.0/permissions/${type}/${oid}`;
    expect(generic('registered-models', id)).toBe(`${P}/${id}`);
    const r = await h.expectOk('GET', generic('registered-models', id));
    expect(r.object_id).toBe(`/registered-models/${id}`);
    const levels = await h.expectOk('GET', `${generic('registered-models', id)}/permissionLevels`);
    expect(levels.permission_levels).toHaveLength(5);
  });
});

describe('registry-wide (root) permissions', () => {
  it('GET root shows admins, the create-model right and root grants', async () => {
    await h.user('bob@x');
    await h.expectOk('PATCH', `${P}/root`, { body: { access_control_list: [{ user_name: 'bob@x', permission_level: 'CAN_READ' }] } });
    const r = await h.expectOk('GET', `${P}/root`);
    // Chosen: the root's own object_id is "/registered-models/root" (see permissions-service.ts).
    expect(r.object_id).toBe('/registered-models/root');
    expect(r.object_type).toBe('registered-model');
    expect(r.access_control_list).toEqual([
      { user_name: 'bob@x', display_name: 'bob@x', all_permissions: direct('CAN_READ') },
      { group_name: 'admins', all_permissions: direct('CAN_MANAGE') },
      { group_name: 'users', all_permissions: fromCreatorsSetting },
    ]);
  });

  it('the create-model right names the configured creators group', async () => {
    const h2 = await makeHarness({ env: { ...ENV, REGATE_MODEL_CREATORS: 'ml-engineers' } });
    await h2.group('ml-engineers');
    const r = await h2.expectOk('GET', `${P}/root`);
    expect(r.access_control_list).toContainEqual({
      group_name: 'ml-engineers',
      all_permissions: fromCreatorsSetting,
    });
    expect(JSON.stringify(r)).not.toContain('"users"');
  });

  it('root grants are inherited by every model and bump every model\'s ACL epoch', async () => {
    const a = await createModel('r1', alice.token);
    const b = await createModel('r2', alice.token);
    const carol = await h.user('carol@x');
    const [ea, eb] = [await epoch(a), await epoch(b)];
    expect((await h.call('GET', `${P}/${a}/permissionLevels`, { token: carol.token })).status).toBe(404);
    await h.expectOk('PATCH', `${P}/root`, { body: { access_control_list: [{ user_name: 'carol@x', permission_level: 'CAN_EDIT' }] } });
    expect([await epoch(a), await epoch(b)]).toEqual([ea + 1, eb + 1]);
    for (const id of [a, b]) {
      const r = await h.expectOk('GET', `${P}/${id}`);
      expect(entryOf(r.access_control_list, 'user_name', 'carol@x')?.all_permissions).toEqual(viaRoot('CAN_EDIT'));
      expect((await h.call('GET', `${P}/${id}/permissionLevels`, { token: carol.token })).status).toBe(200);
    }
  });

  it('admins cannot be removed or lowered on root; a PUT that omits them keeps them', async () => {
    await h.user('bob@x');
    await h.expectOk('PUT', `${P}/root`, {
      body: {
        access_control_list: [{ group_name: 'admins', permission_level: 'CAN_READ' }, { user_name: 'bob@x', permission_level: 'CAN_READ' }],
      },
    });
    const rows = await h.db.prepare(`SELECT principal_id FROM grants WHERE object_id = 'root'`).all();
    expect(rows).toHaveLength(1);
    const r = await h.expectOk('PUT', `${P}/root`, { body: { access_control_list: [] } });
    expect(entryOf(r.access_control_list, 'group_name', 'admins')?.all_permissions).toEqual(direct('CAN_MANAGE'));
    expect(entryOf(r.access_control_list, 'user_name', 'bob@x')).toBeUndefined();
    // Still an admin everywhere.
    const id = await createModel('r3', alice.token);
    await h.expectOk('GET', `${P}/${id}`);
  });

  it('only admins and holders of root CAN_MANAGE may read or change root; anyone may list its levels', async () => {
    const bob = await h.user('bob@x');
    const carol = await h.user('carol@x');
    await h.expectOk('PATCH', `${P}/root`, {
      body: {
        access_control_list: [
          { user_name: 'bob@x', permission_level: 'CAN_MANAGE' },
          { user_name: 'carol@x', permission_level: 'CAN_MANAGE_PRODUCTION_VERSIONS' },
        ],
      },
    });
    for (const [method, body] of [['GET', undefined], ['PATCH', { access_control_list: [] }], ['PUT', { access_control_list: [] }]] as const) {
      for (const who of [carol, alice]) {
        const r = await h.call(method, `${P}/root`, { token: who.token, body });
        expect(r.status, `${who.name} ${method}`).toBe(403);
        expect(r.json.error_code).toBe('PERMISSION_DENIED');
      }
    }
    expect((await h.expectOk('GET', `${P}/root`)).access_control_list).toHaveLength(4);
    await h.expectOk('PATCH', `${P}/root`, { token: bob.token, body: { access_control_list: [{ user_name: 'alice@x', permission_level: 'CAN_READ' }] } });
    expect(entryOf((await h.expectOk('GET', `${P}/root`, { token: bob.token })).access_control_list, 'user_name', 'alice@x')).toBeDefined();
    const levels = await h.expectOk('GET', `${P}/root/permissionLevels`, { token: alice.token });
    expect(levels.permission_levels).toHaveLength(5);
    expect((await h.call('GET', `${P}/root/permissionLevels`, { token: null })).status).toBe(401);
  });
});

describe('errors', () => {
  it('refuses bad ids, bad entries and unknown principals before writing anything', async () => {
    const id = await createModel('e1', alice.token);
    await h.user('bob@x');
    const before = await h.expectOk('GET', `${P}/${id}`);
    const e0 = await epoch(id);
    const bad = async (body: unknown, code = 'INVALID_PARAMETER_VALUE', fragment?: string) => {
      for (const method of ['PATCH', 'PUT']) {
        const r = await h.call(method, `${P}/${id}`, { body });
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.json.error_code).toBe(code);
        expect(Object.keys(r.json).sort()).toEqual(['error_code', 'message']);
        if (fragment) expect(r.json.message).toContain(fragment);
      }
    };
    await bad({ access_control_list: [{ user_name: 'bob@x', permission_level: 'CAN_WRITE' }] }, undefined, 'CAN_WRITE');
    await bad({ access_control_list: [{ user_name: 'bob@x', permission_level: 'CAN_CREATE_REGISTERED_MODEL' }] });
    await bad({ access_control_list: [{ user_name: 'bob@x' }] });
    await bad({ access_control_list: [{ permission_level: 'CAN_READ' }] }, undefined, 'exactly one');
    await bad({ access_control_list: [{ user_name: 'bob@x', group_name: 'users', permission_level: 'CAN_READ' }] }, undefined, 'exactly one');
    await bad({ access_control_list: [{ user_name: 42, permission_level: 'CAN_READ' }] });
    await bad({ access_control_list: 'bob@x' });
    await bad({ access_control_list: [{ user_name: 'nobody@x', permission_level: 'CAN_READ' }] }, undefined, 'nobody@x');
    await bad({ access_control_list: [{ group_name: 'no-such-group', permission_level: 'CAN_READ' }] }, undefined, 'does not exist');
    await bad({ access_control_list: [{ service_principal_name: 'bob@x', permission_level: 'CAN_READ' }] }, undefined, 'does not exist');
    // A good entry before a bad one is not written either.
    await bad({
      access_control_list: [
        { user_name: 'bob@x', permission_level: 'CAN_MANAGE' },
        { user_name: 'nobody@x', permission_level: 'CAN_READ' },
      ],
    });
    const malformed = await h.call('PATCH', `${P}/${id}`, { rawBody: '{not json', headers: { 'Content-Type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.json.error_code).toBe('MALFORMED_REQUEST');
    expect(await h.expectOk('GET', `${P}/${id}`)).toEqual(before);
    expect(await epoch(id)).toBe(e0);
  });

  it('an id that is not a 32-hex model id (e.g. the model name) is INVALID_PARAMETER_VALUE', async () => {
    await createModel('e2', alice.token);
    for (const bad of ['e2', 'ROOT', '0123456789ABCDEF0123456789ABCDEF', '0123']) {
      const r = await h.call('GET', `${P}/${bad}`);
      expect(r.status, bad).toBe(400);
      expect(r.json).toEqual({ error_code: 'INVALID_PARAMETER_VALUE', message: `'${bad}' is not a valid registered model ID.` });
    }
    const missing = await h.call('GET', `${P}/0123456789abcdef0123456789abcdef`);
    expect(missing.status).toBe(404);
    expect(missing.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('model versions have no permissions of their own', async () => {
    const id = await createModel('e3', alice.token);
    for (const [method, path] of [
      ['GET', `${P}/${id}/versions/1`],
      ['PUT', `${P}/${id}/versions/1`],
      ['PATCH', `${P}/${id}/versions`],
      ['GET', '/api/2.0/permissions/model-versions/1'],
    ] as const) {
      const r = await h.call(method, path, { body: method === 'GET' ? undefined : { access_control_list: [] } });
      expect(r.status, path).toBe(400);
      expect(r.json.error_code).toBe('INVALID_PARAMETER_VALUE');
      expect(r.json.message).toContain('model versions');
    }
  });
});

describe('grants belong to the model id', () => {
  it('survive a rename', async () => {
    const id = await createModel('old-name', alice.token);
    const bob = await h.user('bob@x');
    await h.expectOk('PATCH', `${P}/${id}`, { body: { access_control_list: [{ user_name: 'bob@x', permission_level: 'CAN_EDIT' }] } });
    await h.expectOk('POST', `${RM}/rename`, { token: alice.token, body: { name: 'old-name', new_name: 'new-name' } });
    expect(await modelId('new-name')).toBe(id);
    const r = await h.expectOk('GET', `${P}/${id}`);
    expect(entryOf(r.access_control_list, 'user_name', 'bob@x')?.all_permissions).toEqual(direct('CAN_EDIT'));
    expect(entryOf(r.access_control_list, 'user_name', 'alice@x')).toBeDefined();
    expect((await h.call('GET', `${P}/${id}/permissionLevels`, { token: bob.token })).status).toBe(200);
  });

  it('do not survive a delete: a model re-created under the same name starts with only its creator', async () => {
    const id = await createModel('again', alice.token);
    const bob = await h.user('bob@x');
    await h.expectOk('PATCH', `${P}/${id}`, { body: { access_control_list: [{ user_name: 'bob@x', permission_level: 'CAN_MANAGE' }] } });
    await h.expectOk('DELETE', `${RM}/delete`, { token: alice.token, query: { name: 'again' } });
    expect((await h.call('GET', `${P}/${id}`)).status).toBe(404);
    const carol = await h.user('carol@x');
    const id2 = await createModel('again', carol.token);
    expect(id2).not.toBe(id);
    const r = await h.expectOk('GET', `${P}/${id2}`, { token: carol.token });
    expect((r.access_control_list as Entry[]).map((e) => e.user_name ?? e.group_name)).toEqual(['carol@x', 'admins']);
    expect((await h.call('GET', `${P}/${id2}`, { token: bob.token })).status).toBe(404);
    expect(await h.db.prepare('SELECT COUNT(*) AS n FROM grants WHERE object_id = ?').bind(id).first()).toEqual({ n: 0 });
  });
});
