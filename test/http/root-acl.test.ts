/**
 * Terraform's `databricks_permissions` on `registered_model_id = "root"` converges: what a PUT on root sets
 * reads back exactly (every non-inherited entry but the admins group, which Terraform leaves out on this
 * object), and the model-creators right (REGATE_MODEL_CREATORS, not settable through the API) is presented as
 * an inherited entry, which Terraform ignores, as it does every inherited permission.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TEST_ENV, makeHarness, type Harness } from '../helpers/harness.ts';
import { MODEL_CREATORS_SOURCE } from '../../src/core/access/permissions-service.ts';

const P = '/api/2.0/permissions/registered-models';

type Perm = { permission_level: string; inherited: boolean; inherited_from_object?: string[] };
type Entry = { user_name?: string; group_name?: string; service_principal_name?: string; all_permissions: Perm[] };

/** What Terraform's read keeps of an ACL (resource_permissions.go): non-inherited permissions, admins skipped. */
function terraformView(acl: Entry[]) {
  return acl
    .filter((e) => e.group_name !== 'admins')
    .flatMap((e) =>
      e.all_permissions
        .filter((p) => !p.inherited)
        .map((p) => ({ ...(e.user_name ? { user_name: e.user_name } : {}), ...(e.group_name ? { group_name: e.group_name } : {}), permission_level: p.permission_level })),
    );
}

async function setup(env: Record<string, string> = DEFAULT_TEST_ENV): Promise<Harness> {
  const h = await makeHarness({ env });
  await h.user('bob@x');
  await h.group('ml-readers');
  return h;
}

describe('root ACL round trip (Terraform)', () => {
  it('a PUT on root reads back exactly as put, and again after a second identical PUT', async () => {
    const h = await setup();
    const acl = [
      { user_name: 'bob@x', permission_level: 'CAN_READ' },
      { group_name: 'ml-readers', permission_level: 'CAN_EDIT' },
    ];
    // Terraform sends the admins grant too; it is implicit on root.
    const put = await h.expectOk('PUT', `${P}/root`, { body: { access_control_list: [...acl, { group_name: 'admins', permission_level: 'CAN_MANAGE' }] } });
    expect(terraformView(put.access_control_list)).toEqual(acl);
    expect(terraformView((await h.expectOk('GET', `${P}/root`)).access_control_list)).toEqual(acl);
    await h.expectOk('PUT', `${P}/root`, { body: { access_control_list: acl } });
    expect(terraformView((await h.expectOk('GET', `${P}/root`)).access_control_list)).toEqual(acl);
    // An empty PUT reads back empty.
    await h.expectOk('PUT', `${P}/root`, { body: { access_control_list: [] } });
    expect(terraformView((await h.expectOk('GET', `${P}/root`)).access_control_list)).toEqual([]);
  });

  it('presents the model-creators group as an inherited CAN_CREATE_REGISTERED_MODEL from the setting', async () => {
    const h = await setup({ ...DEFAULT_TEST_ENV, REGATE_MODEL_CREATORS: 'ml-readers' });
    await h.expectOk('PUT', `${P}/root`, { body: { access_control_list: [{ group_name: 'ml-readers', permission_level: 'CAN_READ' }] } });
    const r = await h.expectOk('GET', `${P}/root`);
    expect(r.access_control_list.find((e: Entry) => e.group_name === 'ml-readers')).toEqual({
      group_name: 'ml-readers',
      all_permissions: [
        { permission_level: 'CAN_READ', inherited: false },
        { permission_level: 'CAN_CREATE_REGISTERED_MODEL', inherited: true, inherited_from_object: [MODEL_CREATORS_SOURCE] },
      ],
    });
    expect(terraformView(r.access_control_list)).toEqual([{ group_name: 'ml-readers', permission_level: 'CAN_READ' }]);
  });
});
