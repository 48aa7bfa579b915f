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
