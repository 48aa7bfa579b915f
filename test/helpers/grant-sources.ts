/**
 * @module grant-sources (test helper)
 * One principal per (grant source, level) for the permission matrix: a user, a service principal, a member
 * of a group, a member of a group inside a group, and a user with a registry-wide (root) grant, at each of
 * the six levels (No Permissions means the principal, and its groups, hold nothing); plus a member of
 * `admins` and a model creator, who hold CAN_MANAGE by those routes alone.
 */
import type { Harness } from './harness.ts';

export const LEVELS = [
  'NO_PERMISSIONS',
  'CAN_READ',
  'CAN_EDIT',
  'CAN_MANAGE_STAGING_VERSIONS',
  'CAN_MANAGE_PRODUCTION_VERSIONS',
  'CAN_MANAGE',
] as const;
export type Level = (typeof LEVELS)[number];
export const GRANTED_SOURCES = ['user', 'service principal', 'group', 'nested group', 'root'] as const;
export type Source = (typeof GRANTED_SOURCES)[number] | 'admin' | 'creator';
export type Owner = 'admin' | 'creator';

export interface FixtureSpec {
  label: string;
  source: Source;
  level: Level;
}

export interface Fixture extends FixtureSpec {
  token: string;
  /** user name or application id: what `creator` and `user_id` hold. */
  name: string;
  /** Whose models this fixture is tested on: the creator source on models it created itself. */
  owner: Owner;
}

export const FIXTURE_SPECS: FixtureSpec[] = [
  ...GRANTED_SOURCES.flatMap((source) => LEVELS.map((level) => ({ label: `${source} ${level}`, source, level }))),
  { label: 'admin (member of admins)', source: 'admin', level: 'CAN_MANAGE' },
  { label: 'creator of the model', source: 'creator', level: 'CAN_MANAGE' },
];

export interface GrantSources {
  fixtures: Fixture[];
  /** The access_control_list to PATCH onto every model the admin owns (user, service principal, group sources). */
  modelGrants: Array<Record<string, string>>;
  creatorToken: string;
}

/** Creates the principals and groups, and writes the root grants (as the admin). */
export async function makeGrantSources(h: Harness): Promise<GrantSources> {
  const modelGrants: Array<Record<string, string>> = [];
  const rootGrants: Array<Record<string, string>> = [];
  const admins = await h.db.prepare(`SELECT id FROM principals WHERE kind = 'group' AND name = 'admins'`).first<{ id: string }>();
  const fixtures: Fixture[] = [];
  let creatorToken = '';
  for (const spec of FIXTURE_SPECS) {
    const slug = `${spec.source.replace(/ /g, '-')}-${spec.level.toLowerCase()}`;
    const level = spec.level;
    const grant = (list: Array<Record<string, string>>, entry: Record<string, string>) => {
      if (level !== 'NO_PERMISSIONS') list.push({ ...entry, permission_level: level });
    };
    let id: { token: string; name: string };
    switch (spec.source) {
      case 'user':
        id = await h.user(slug);
        grant(modelGrants, { user_name: id.name });
        break;
      case 'service principal':
        id = await h.servicePrincipal(slug);
        grant(modelGrants, { service_principal_name: id.name });
        break;
      case 'group': {
        const u = await h.user(slug);
        const g = await h.group(`g-${slug}`, [u.id]);
        grant(modelGrants, { group_name: g.name });
        id = u;
        break;
      }
      case 'nested group': {
        const u = await h.user(slug);
        const inner = await h.group(`inner-${slug}`, [u.id]);
        const outer = await h.group(`outer-${slug}`);
        await h.addToGroup(outer.id, inner.id);
        grant(modelGrants, { group_name: outer.name });
        id = u;
        break;
      }
      case 'root':
        id = await h.user(slug);
        grant(rootGrants, { user_name: id.name });
        break;
      case 'admin': {
        const u = await h.user(slug);
        await h.addToGroup(admins!.id, u.id);
        id = u;
        break;
      }
      case 'creator':
        id = await h.user(slug);
        creatorToken = id.token;
        break;
    }
    fixtures.push({ ...spec, token: id.token, name: id.name, owner: spec.source === 'creator' ? 'creator' : 'admin' });
  }
  await h.expectOk('PATCH', '/api/2.0/permissions/registered-models/root', { body: { access_control_list: rootGrants } });
  return { fixtures, modelGrants, creatorToken };
}
