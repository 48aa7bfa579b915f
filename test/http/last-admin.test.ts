/**
 * @module last-admin.test
 * The workspace always keeps one active admin (item 6): every SCIM path that could remove or deactivate the
 * last active member of `admins` (directly, through nested groups, user or service principal) is refused, and
 * nothing changes; the same paths work while another active admin remains. Concurrent removals cannot race
 * past the rule either: the check runs inside the batch that makes the change.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { makeHarness, SCIM, type Harness } from '../helpers/harness.ts';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let h: Harness;
let adminsId: string;
let adminId: string;

beforeEach(async () => {
  h = await makeHarness();
  adminsId = (await h.expectOk('GET', `${SCIM}/Groups`, { query: { filter: 'displayName eq "admins"' } })).Resources[0].id;
  adminId = (await h.expectOk('GET', `${SCIM}/Me`)).id;
});

const ops = (...Operations: unknown[]) => ({ body: { schemas: [PATCH_OP], Operations } });
const adminMembers = async (token?: string) =>
  ((await h.expectOk('GET', `${SCIM}/Groups/${adminsId}`, { token })).members ?? []).map((m: { value: string }) => m.value).sort();

function expectRefused(r: { status: number; json: { error_code: string; message: string } }, what: string) {
  expect(r.status, what).toBe(400);
  expect(r.json.error_code, what).toBe('INVALID_PARAMETER_VALUE');
  expect(r.json.message, what).toMatch(/last active admin/);
}

describe('the last active admin', () => {
  it('cannot leave admins, be deactivated or be replaced out, by PATCH or PUT of the user or the group', async () => {
    const other = await h.user('plain@x');
    const empty = await h.group('empty');
    const attempts: Array<[string, string, object]> = [
      ['PATCH', `${SCIM}/Groups/${adminsId}`, ops({ op: 'remove', path: `members[value eq "${adminId}"]` })],
      ['PATCH', `${SCIM}/Groups/${adminsId}`, ops({ op: 'remove', path: 'members', value: [{ value: adminId }] })],
      ['PATCH', `${SCIM}/Groups/${adminsId}`, ops({ op: 'replace', path: 'members', value: [{ value: empty.id }] })],
      ['PATCH', `${SCIM}/Groups/${adminsId}`, ops({ op: 'replace', value: { members: [] } })],
      ['PUT', `${SCIM}/Groups/${adminsId}`, { body: { displayName: 'admins', members: [] } }],
      ['PATCH', `${SCIM}/Users/${adminId}`, ops({ op: 'replace', path: 'active', value: false })],
      ['PATCH', `${SCIM}/Users/${adminId}`, ops({ op: 'replace', path: 'active', value: 'false' })],
      ['PUT', `${SCIM}/Users/${adminId}`, { body: { userName: 'admin', active: false } }],
    ];
    for (const [method, path, o] of attempts) {
      expectRefused(await h.call(method, path, o), `${method} ${path} ${JSON.stringify(o)}`);
    }
    expect(await adminMembers()).toEqual([adminId]);
    expect((await h.expectOk('GET', `${SCIM}/Users/${adminId}`)).active).toBe(true);
    // Replacing admins' members with a list that keeps the admin is fine, and adds the other user.
    await h.expectOk('PATCH', `${SCIM}/Groups/${adminsId}`, ops({ op: 'replace', path: 'members', value: [{ value: other.id }, { value: adminId }] }));
    expect(await adminMembers()).toEqual([adminId, other.id].sort());
  });

  it('an inactive admin does not count; with a second active admin the first may go', async () => {
    const second = await h.user('second@x');
    await h.addToGroup(adminsId, second.id);
    await h.expectOk('PATCH', `${SCIM}/Users/${second.id}`, ops({ op: 'replace', path: 'active', value: false }));
    expectRefused(await h.call('PATCH', `${SCIM}/Groups/${adminsId}`, ops({ op: 'remove', path: `members[value eq "${adminId}"]` })), 'remove');
    await h.expectOk('PATCH', `${SCIM}/Users/${second.id}`, ops({ op: 'replace', path: 'active', value: true }));
    await h.expectOk('PATCH', `${SCIM}/Groups/${adminsId}`, ops({ op: 'remove', path: `members[value eq "${adminId}"]` }));
    expect(await adminMembers(second.token)).toEqual([second.id]);
    // Now `second` is the last: it cannot deactivate itself either.
    expectRefused(await h.call('PATCH', `${SCIM}/Users/${second.id}`, { token: second.token, ...ops({ op: 'replace', path: 'active', value: false }) }), 'self');
  });

  it('counts admins through nested groups: deleting or emptying the group that carries the last admin is refused', async () => {
    const ops_ = await h.group('ops', [adminId]);
    await h.addToGroup(adminsId, ops_.id);
    await h.expectOk('PATCH', `${SCIM}/Groups/${adminsId}`, ops({ op: 'remove', path: `members[value eq "${adminId}"]` }));
    expect((await h.expectOk('GET', `${SCIM}/Me`)).groups.map((g: { display: string }) => g.display)).toContain('ops');
    expectRefused(await h.call('DELETE', `${SCIM}/Groups/${ops_.id}`), 'delete group');
    expectRefused(await h.call('PATCH', `${SCIM}/Groups/${ops_.id}`, ops({ op: 'remove', path: `members[value eq "${adminId}"]` })), 'empty group');
    expectRefused(await h.call('PUT', `${SCIM}/Groups/${ops_.id}`, { body: { displayName: 'ops', members: [] } }), 'put group');
    expectRefused(await h.call('PATCH', `${SCIM}/Groups/${adminsId}`, ops({ op: 'remove', path: `members[value eq "${ops_.id}"]` })), 'unnest');
    // Still an admin: it can manage identities.
    await h.expectOk('GET', `${SCIM}/Users`);
  });

  it('a service principal that is the last admin cannot be deactivated or deleted', async () => {
    const sp = await h.servicePrincipal('robot');
    await h.addToGroup(adminsId, sp.id);
    const helper = await h.user('helper@x');
    await h.addToGroup(adminsId, helper.id);
    // The first admin leaves; helper and the service principal remain.
    await h.expectOk('PATCH', `${SCIM}/Groups/${adminsId}`, ops({ op: 'remove', path: `members[value eq "${adminId}"]` }));
    // helper goes too, by the service principal's hand: the service principal is now the last active admin.
    await h.expectOk('DELETE', `${SCIM}/Users/${helper.id}`, { token: sp.token });
    expectRefused(await h.call('PATCH', `${SCIM}/ServicePrincipals/${sp.id}`, { token: sp.token, ...ops({ op: 'replace', path: 'active', value: false }) }), 'patch');
    expectRefused(await h.call('PUT', `${SCIM}/ServicePrincipals/${sp.id}`, { token: sp.token, body: { applicationId: sp.name, active: false } }), 'put');
    expect((await h.expectOk('GET', `${SCIM}/Me`, { token: sp.token })).id).toBe(sp.id);
  });

  it('two admins removing each other at once: one removal wins, the other is refused', async () => {
    const b = await h.user('b@x');
    await h.addToGroup(adminsId, b.id);
    const [r1, r2] = await Promise.all([
      h.call('PATCH', `${SCIM}/Groups/${adminsId}`, ops({ op: 'remove', path: `members[value eq "${b.id}"]` })),
      h.call('PATCH', `${SCIM}/Groups/${adminsId}`, { token: b.token, ...ops({ op: 'remove', path: `members[value eq "${adminId}"]` }) }),
    ]);
    expect([r1.status, r2.status].sort()).toEqual([200, 400]);
    expect(await adminMembers()).toHaveLength(1);
  });

  it('two admins deleting each other at once: one deletion wins, the other is refused', async () => {
    const b = await h.user('b@x');
    await h.addToGroup(adminsId, b.id);
    const [r1, r2] = await Promise.all([
      h.call('DELETE', `${SCIM}/Users/${b.id}`),
      h.call('DELETE', `${SCIM}/Users/${adminId}`, { token: b.token }),
    ]);
    expect([r1.status, r2.status].sort()).toEqual([200, 400]);
    expect(await h.db.prepare(`SELECT count(*) AS n FROM group_members WHERE group_id = ?`).bind(adminsId).first<{ n: number }>()).toEqual({ n: 1 });
  });
});
