/**
 * @module scim-routes
 * `/api/2.0/preview/scim/v2/{Users,Groups,ServicePrincipals}` (admins only) and `/Me` (anyone): the SCIM
 * subset the Databricks SDK uses to manage identities. Listing honours `filter`, `startIndex` (1-based) and
 * `count`, and returns no `Resources` past the end, which is how the SDK's paginator knows to stop.
 * PUT replaces what regate keeps of a resource (the SDK's `update`): displayName, active, and a group's
 * members; an attribute left out keeps its value (RFC 7644 §3.5.1 lets a provider choose), so an `update`
 * that sends only a display name neither reactivates nor empties anything. userName and applicationId are
 * immutable; a User's `groups` is read-only (RFC 7643 §4.1.2: membership changes go through Groups).
 * Every change that could drop an admin runs through identityBatch (admin-guard.ts): the last active admin
 * cannot leave admins, be deactivated or be deleted, by any path.
 */
import { GatewayError, alreadyExists, denied, invalid, notFound } from '../../core/errors.ts';
import { createPrincipal, findPrincipal, getPrincipal, listPrincipals } from '../../core/identity/store.ts';
import { ADMINS_GROUP, USERS_GROUP, type PrincipalKind, type PrincipalRow } from '../../core/identity/principal.ts';
import { NAME_ATTRIBUTE, SCHEMA, parsePatchOperations, parseScimFilter, renderPrincipal, scimBoolean, type MemberChange } from '../../core/identity/scim.ts';
import { bumpGlobalEpoch } from '../../core/access/epoch.ts';
import { identityBatch } from '../../core/identity/admin-guard.ts';
import type { SqlStatement } from '../../core/ports.ts';
import type { Ctx, Route } from '../env.ts';
import { params, type Params } from '../params.ts';

const BASE = '/api/2.0/preview/scim/v2';
const RESOURCES: Array<[string, PrincipalKind]> = [
  ['Users', 'user'],
  ['Groups', 'group'],
  ['ServicePrincipals', 'service_principal'],
];
const NAME_PATTERN = /^[^\x00-\x1f\x7f]{1,256}$/;

async function principalOfKind(c: Ctx, kind: PrincipalKind): Promise<PrincipalRow> {
  const row = await getPrincipal(c.var.deps.db, c.req.param('id') ?? '');
  if (!row || row.kind !== kind) throw notFound(`${kind === 'service_principal' ? 'Service principal' : kind === 'user' ? 'User' : 'Group'} ${c.req.param('id')} not found.`);
  return row;
}

function uniqueName(kind: PrincipalKind, p: Params): { name: string; displayName: string } {
  const attr = NAME_ATTRIBUTE[kind];
  let name = p.str(attr, { optional: true, max: 256 });
  const displayName = p.str('displayName', { optional: true, max: 256 });
  // Service principals get an application id when none is given, as Databricks assigns one.
  if (name === undefined && kind === 'service_principal') name = crypto.randomUUID();
  if (name === undefined && kind === 'group') name = displayName;
  if (name === undefined || !NAME_PATTERN.test(name)) throw invalid(`'${attr}' is required: 1 to 256 printable characters.`);
  return { name, displayName: displayName && displayName.length > 0 ? displayName : name };
}

/** Checks member ids exist and would not put a group inside itself. */
async function checkMembers(c: Ctx, groupId: string | null, ids: string[]): Promise<void> {
  for (const id of ids) {
    if (id === groupId) throw invalid('A group cannot be a member of itself.');
    if (!(await getPrincipal(c.var.deps.db, id))) throw invalid(`Member ${id} does not exist.`);
  }
}

function memberStatements(c: Ctx, groupId: string, change: MemberChange): SqlStatement[] {
  const db = c.var.deps.db;
  const out: SqlStatement[] = [];
  if (change.replace) out.push(db.prepare('DELETE FROM group_members WHERE group_id = ?').bind(groupId));
  for (const id of [...(change.replace ?? []), ...change.add]) {
    out.push(db.prepare('INSERT OR IGNORE INTO group_members (group_id, member_id) VALUES (?, ?)').bind(groupId, id));
  }
  for (const id of change.remove) {
    out.push(db.prepare('DELETE FROM group_members WHERE group_id = ? AND member_id = ?').bind(groupId, id));
  }
  return out;
}

/**
 * Applies a PATCH or PUT: members, displayName (a group's name too) and active, in one guarded batch.
 * A group renamed onto a name in use is RESOURCE_ALREADY_EXISTS, checked first for the message and again by
 * the unique index inside the batch for a rename that races another.
 */
async function applyChange(c: Ctx, kind: PrincipalKind, row: PrincipalRow, change: MemberChange): Promise<Record<string, unknown>> {
  const { db } = c.var.deps;
  const touchesMembers = change.add.length + change.remove.length > 0 || change.replace !== undefined;
  if (touchesMembers && kind !== 'group') throw invalid('Only groups have members.');
  await checkMembers(c, row.id, [...change.add, ...(change.replace ?? [])]);
  if (change.displayName !== undefined && !NAME_PATTERN.test(change.displayName)) throw invalid('displayName: 1 to 256 printable characters.');
  const statements = memberStatements(c, row.id, change);
  const nameInUse = () => `Group with displayName ${change.displayName} already exists.`;
  if (change.displayName !== undefined && change.displayName !== row.display_name) {
    if (kind === 'group') {
      if ([ADMINS_GROUP, USERS_GROUP].includes(row.name)) throw invalid(`The built-in group '${row.name}' cannot be renamed.`);
      if (await findPrincipal(db, 'group', change.displayName)) throw alreadyExists(nameInUse());
    }
    statements.push(db.prepare('UPDATE principals SET display_name = ? WHERE id = ?').bind(change.displayName, row.id));
    if (kind === 'group') statements.push(db.prepare('UPDATE principals SET name = ? WHERE id = ?').bind(change.displayName, row.id));
  }
  if (change.active !== undefined) statements.push(db.prepare('UPDATE principals SET active = ? WHERE id = ?').bind(change.active ? 1 : 0, row.id));
  if (statements.length > 0) {
    await identityBatch(db, statements, nameInUse);
    // Membership can change anyone's level on any model: drop this instance's cached decisions now.
    c.var.deps.acl?.invalidateAll();
  }
  return renderPrincipal(db, (await getPrincipal(db, row.id))!);
}

function resourceRoutes(resource: string, kind: PrincipalKind): Route[] {
  const path = `${BASE}/${resource}`;
  return [
    {
      method: 'POST',
      path,
      auth: 'admin',
      handler: async (c) => {
        const p = await params(c);
        const { db, clock } = c.var.deps;
        const { name, displayName } = uniqueName(kind, p);
        if (await findPrincipal(db, kind, name)) throw alreadyExists(`${resource.slice(0, -1)} with ${NAME_ATTRIBUTE[kind]} ${name} already exists.`);
        const members = kind === 'group' ? p.objList('members').map((m) => String(m.value ?? '')) : [];
        await checkMembers(c, null, members);
        const row = await createPrincipal(db, clock, { kind, name, displayName });
        if (members.length > 0) {
          await db.batch([...memberStatements(c, row.id, { add: members, remove: [] }), bumpGlobalEpoch(db)]);
          c.var.deps.acl?.invalidateAll();
        }
        return c.json(await renderPrincipal(db, row));
      },
    },
    {
      method: 'GET',
      path,
      auth: 'admin',
      handler: async (c) => {
        const p = await params(c);
        const start = p.int('startIndex', { min: 1, fallback: 1 })!;
        const count = p.int('count', { min: 0, max: 10000, fallback: 10000 })!;
        const match = parseScimFilter(p.str('filter', { optional: true, max: 1024 }), kind);
        const all = (await listPrincipals(c.var.deps.db, kind)).filter(match);
        const page = all.slice(start - 1, start - 1 + count);
        const body: Record<string, unknown> = { schemas: [SCHEMA.list], totalResults: all.length, startIndex: start, itemsPerPage: page.length };
        if (page.length > 0) body.Resources = await Promise.all(page.map((r) => renderPrincipal(c.var.deps.db, r)));
        return c.json(body);
      },
    },
    {
      method: 'GET',
      path: `${path}/:id`,
      auth: 'admin',
      handler: async (c) => {
        return c.json(await renderPrincipal(c.var.deps.db, await principalOfKind(c, kind)));
      },
    },
    {
      method: 'PATCH',
      path: `${path}/:id`,
      auth: 'admin',
      handler: async (c) => {
        const row = await principalOfKind(c, kind);
        const change = parsePatchOperations((await params(c)).objList('Operations'));
        return c.json(await applyChange(c, kind, row, change));
      },
    },
    {
      method: 'PUT',
      path: `${path}/:id`,
      auth: 'admin',
      handler: async (c) => {
        const row = await principalOfKind(c, kind);
        const p = await params(c);
        const change: MemberChange = { add: [], remove: [] };
        if (kind === 'group') {
          const name = p.str('displayName', { optional: true, max: 256 });
          if (name !== undefined && name !== row.name) change.displayName = name;
          if (p.has('members')) change.replace = p.objList('members').map((m) => String(m.value ?? ''));
        } else {
          const attr = NAME_ATTRIBUTE[kind];
          const name = p.str(attr, { optional: true, max: 256 });
          if (name !== undefined && name !== row.name) throw invalid(`'${attr}' cannot be changed (it is ${row.name}).`);
          const displayName = p.str('displayName', { optional: true, max: 256 });
          if (displayName !== undefined && displayName !== row.display_name) change.displayName = displayName;
          if (p.has('active')) change.active = scimBoolean(p.values.active, 'active');
        }
        return c.json(await applyChange(c, kind, row, change));
      },
    },
    {
      method: 'DELETE',
      path: `${path}/:id`,
      auth: 'admin',
      handler: async (c) => {
        const row = await principalOfKind(c, kind);
        if (kind === 'group' && [ADMINS_GROUP, USERS_GROUP].includes(row.name)) {
          throw new GatewayError('INVALID_PARAMETER_VALUE', `The built-in group '${row.name}' cannot be deleted.`);
        }
        if (row.id === c.var.principal.id) throw invalid('You cannot delete yourself.');
        const { db } = c.var.deps;
        // Tokens, memberships and grants go with the principal (ON DELETE CASCADE).
        await identityBatch(db, [db.prepare('DELETE FROM principals WHERE id = ?').bind(row.id)]);
        c.var.deps.acl?.invalidateAll();
        return c.json({});
      },
    },
  ];
}

export const routes: Route[] = [
  {
    method: 'GET',
    path: `${BASE}/Me`,
    handler: async (c) => {
      const row = (await getPrincipal(c.var.deps.db, c.var.principal.id))!;
      return c.json(await renderPrincipal(c.var.deps.db, row), 200, { 'x-databricks-org-id': c.var.deps.workspaceId });
    },
  },
  ...RESOURCES.flatMap(([resource, kind]) => resourceRoutes(resource, kind)),
];
