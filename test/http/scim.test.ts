import { beforeEach, describe, expect, it } from 'vitest';
import { makeHarness, SCIM, type Harness } from '../helpers/harness.ts';

let h: Harness;
beforeEach(async () => {
  h = await makeHarness();
});

describe('SCIM users, groups and service principals', () => {
  it('creates, gets, filters and deletes a user; the user joins the built-in users group', async () => {
    const u = await h.expectOk('POST', `${SCIM}/Users`, { body: { userName: 'ana@example.com', displayName: 'Ana' } });
    expect(u.id).toMatch(/^[1-9][0-9]{15}$/);
    expect(u.userName).toBe('ana@example.com');
    expect(u.displayName).toBe('Ana');
    expect(u.groups.map((g: { display: string }) => g.display)).toEqual(['users']);
    expect((await h.expectOk('GET', `${SCIM}/Users/${u.id}`)).userName).toBe('ana@example.com');
    const list = await h.expectOk('GET', `${SCIM}/Users`, { query: { filter: 'userName eq "ana@example.com"' } });
    expect(list.totalResults).toBe(1);
    expect(list.Resources[0].id).toBe(u.id);
    await h.expectOk('DELETE', `${SCIM}/Users/${u.id}`);
    const gone = await h.call('GET', `${SCIM}/Users/${u.id}`);
    expect(gone.status).toBe(404);
    expect(gone.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('pages with startIndex and count and returns no Resources past the end', async () => {
    for (const n of ['a', 'b', 'c']) await h.user(`${n}@x`);
    const page = await h.expectOk('GET', `${SCIM}/Users`, { query: { startIndex: '2', count: '2' } });
    expect(page.totalResults).toBe(4); // admin + 3
    expect(page.Resources).toHaveLength(2);
    const past = await h.expectOk('GET', `${SCIM}/Users`, { query: { startIndex: '5', count: '2' } });
    expect(past.Resources).toBeUndefined();
  });

  it('refuses a duplicate user name and an unsupported filter', async () => {
    await h.user('dup@x');
    const dup = await h.call('POST', `${SCIM}/Users`, { body: { userName: 'dup@x' } });
    expect(dup.status).toBe(400);
    expect(dup.json.error_code).toBe('RESOURCE_ALREADY_EXISTS');
    const bad = await h.call('GET', `${SCIM}/Users`, { query: { filter: 'userName gt 1' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('service principals get an application id; groups hold members, nested groups too', async () => {
    const sp = await h.servicePrincipal('fleet');
    expect(sp.name).toMatch(/^[0-9a-f-]{36}$/);
    const u = await h.user('bo@x');
    const inner = await h.group('inner', [u.id]);
    const outer = await h.group('outer', [inner.id, sp.id]);
    const g = await h.expectOk('GET', `${SCIM}/Groups/${outer.id}`);
    expect(g.members.map((m: { value: string }) => m.value).sort()).toEqual([inner.id, sp.id].sort());
    await h.removeFromGroup(outer.id, sp.id);
    const after = await h.expectOk('GET', `${SCIM}/Groups/${outer.id}`);
    expect(after.members.map((m: { value: string }) => m.value)).toEqual([inner.id]);
    const self = await h.call('PATCH', `${SCIM}/Groups/${outer.id}`, {
      body: { Operations: [{ op: 'add', value: { members: [{ value: outer.id }] } }] },
    });
    expect(self.status).toBe(400);
  });

  it('only admins manage identities; anyone reads /Me', async () => {
    const u = await h.user('cy@x');
    const r = await h.call('POST', `${SCIM}/Users`, { token: u.token, body: { userName: 'evil@x' } });
    expect(r.status).toBe(403);
    expect(r.json).toEqual({ error_code: 'PERMISSION_DENIED', message: expect.any(String) });
    expect((await h.call('GET', `${SCIM}/Users`, { query: { filter: 'userName eq "evil@x"' } })).json.totalResults).toBe(0);
    const me = await h.expectOk('GET', `${SCIM}/Me`, { token: u.token });
    expect(me.userName).toBe('cy@x');
  });

  it('the built-in groups cannot be deleted', async () => {
    const list = await h.expectOk('GET', `${SCIM}/Groups`, { query: { filter: 'displayName eq "admins"' } });
    const r = await h.call('DELETE', `${SCIM}/Groups/${list.Resources[0].id}`);
    expect(r.status).toBe(400);
  });
});

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const groupId = async (name: string) =>
  (await h.expectOk('GET', `${SCIM}/Groups`, { query: { filter: `displayName eq "${name}"` } })).Resources[0].id as string;

describe('renaming a group onto a name in use (item 8)', () => {
  it('is RESOURCE_ALREADY_EXISTS, by PATCH and by PUT, for a built-in or another group; the group keeps its name', async () => {
    const a = await h.group('team-a');
    await h.group('team-b');
    for (const taken of ['users', 'admins', 'team-b']) {
      for (const [method, body] of [
        ['PATCH', { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: taken }] }],
        ['PATCH', { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { displayName: taken } }] }],
        ['PUT', { displayName: taken }],
      ] as const) {
        const r = await h.call(method, `${SCIM}/Groups/${a.id}`, { body });
        expect(r.status, `${method} ${taken}`).toBe(400);
        expect(r.json, `${method} ${taken}`).toEqual({ error_code: 'RESOURCE_ALREADY_EXISTS', message: expect.stringContaining(taken) });
      }
    }
    expect((await h.expectOk('GET', `${SCIM}/Groups/${a.id}`)).displayName).toBe('team-a');
    // Renaming onto its own name is no conflict.
    expect((await h.expectOk('PATCH', `${SCIM}/Groups/${a.id}`, { body: { Operations: [{ op: 'replace', path: 'displayName', value: 'team-a' }] } })).displayName).toBe('team-a');
  });

  it('two renames racing onto one name: one wins, the other is RESOURCE_ALREADY_EXISTS, never a 500', async () => {
    const a = await h.group('a');
    const b = await h.group('b');
    const rename = (id: string) => h.call('PATCH', `${SCIM}/Groups/${id}`, { body: { Operations: [{ op: 'replace', path: 'displayName', value: 'same' }] } });
    const rs = await Promise.all([rename(a.id), rename(b.id)]);
    expect(rs.map((r) => r.status).sort()).toEqual([200, 400]);
    expect(rs.find((r) => r.status === 400)!.json.error_code).toBe('RESOURCE_ALREADY_EXISTS');
  });
});

describe('SCIM full replace (PUT), string booleans and unquoted filters (item 18)', () => {
  it('PUT /Users/{id} replaces what the SDK update sends', async () => {
    const u = await h.user('put@x');
    const r = await h.expectOk('PUT', `${SCIM}/Users/${u.id}`, {
      body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'put@x', displayName: 'Put Renamed', active: true },
    });
    expect(r).toMatchObject({ id: u.id, userName: 'put@x', displayName: 'Put Renamed', active: true });
    expect((await h.expectOk('GET', `${SCIM}/Users/${u.id}`)).displayName).toBe('Put Renamed');
    // Deactivating by PUT (as a string, as some clients send it) locks the user out.
    const off = await h.expectOk('PUT', `${SCIM}/Users/${u.id}`, { body: { userName: 'put@x', active: 'false' } });
    expect(off.active).toBe(false);
    expect((await h.call('GET', `${SCIM}/Me`, { token: u.token })).status).toBe(401);
    // userName is immutable (what user_id fields and request creators show).
    const renamed = await h.call('PUT', `${SCIM}/Users/${u.id}`, { body: { userName: 'other@x' } });
    expect(renamed.status).toBe(400);
    expect(renamed.json.error_code).toBe('INVALID_PARAMETER_VALUE');
    const missing = await h.call('PUT', `${SCIM}/Users/1234567890123456`, { body: { userName: 'nobody@x' } });
    expect(missing.status).toBe(404);
  });

  it('PUT /ServicePrincipals/{id} and /Groups/{id} replace display name, active and members', async () => {
    const sp = await h.servicePrincipal('robot');
    const r = await h.expectOk('PUT', `${SCIM}/ServicePrincipals/${sp.id}`, {
      body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServicePrincipal'], applicationId: sp.name, displayName: 'Robot 2', active: true },
    });
    expect(r).toMatchObject({ id: sp.id, applicationId: sp.name, displayName: 'Robot 2', active: true });
    const a = await h.user('m1@x');
    const b = await h.user('m2@x');
    const g = await h.group('crew', [a.id]);
    const put = await h.expectOk('PUT', `${SCIM}/Groups/${g.id}`, { body: { displayName: 'crew2', members: [{ value: b.id }, { value: sp.id }] } });
    expect(put.displayName).toBe('crew2');
    expect(put.members.map((m: { value: string }) => m.value).sort()).toEqual([b.id, sp.id].sort());
  });

  it('PATCH active accepts the strings "false"/"true" and the [{"value": "false"}] form the SDK and docs send', async () => {
    const u = await h.user('act@x');
    for (const value of ['false', 'False', [{ value: 'false' }], false]) {
      await h.expectOk('PATCH', `${SCIM}/Users/${u.id}`, { body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: 'true' }] } });
      expect((await h.call('GET', `${SCIM}/Me`, { token: u.token })).status).toBe(200);
      const r = await h.expectOk('PATCH', `${SCIM}/Users/${u.id}`, { body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value }] } });
      expect(r.active, JSON.stringify(value)).toBe(false);
      expect((await h.call('GET', `${SCIM}/Me`, { token: u.token })).status).toBe(401);
    }
    const noPath = await h.expectOk('PATCH', `${SCIM}/Users/${u.id}`, { body: { Operations: [{ op: 'replace', value: { active: 'true' } }] } });
    expect(noPath.active).toBe(true);
    const bad = await h.call('PATCH', `${SCIM}/Users/${u.id}`, { body: { Operations: [{ op: 'replace', path: 'active', value: 'maybe' }] } });
    expect(bad.status).toBe(400);
    expect(bad.json.error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('a filter with an unquoted value matches like the quoted one (or nothing)', async () => {
    const u = await h.expectOk('POST', `${SCIM}/Users`, { body: { userName: 'plain@x', displayName: 'some-name' } });
    const list = await h.expectOk('GET', `${SCIM}/Users`, { query: { filter: 'displayName eq some-name' } });
    expect(list.totalResults).toBe(1);
    expect(list.Resources[0].id).toBe(u.id);
    expect((await h.expectOk('GET', `${SCIM}/Users`, { query: { filter: 'userName eq plain@x' } })).Resources[0].id).toBe(u.id);
    expect((await h.expectOk('GET', `${SCIM}/Users`, { query: { filter: 'displayName eq other-name' } })).totalResults).toBe(0);
    expect((await h.expectOk('GET', `${SCIM}/Groups`, { query: { filter: 'displayName eq admins' } })).Resources[0].displayName).toBe('admins');
  });
});
