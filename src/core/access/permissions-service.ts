/**
 * @module permissions-service
 * The Permissions API for registered models (wire-protocol §5): read, replace (PUT) and update (PATCH) the
 * grants on one model or on the registry-wide `root` object, and list the settable levels.
 */
import type { SqlDb, SqlStatement } from '../ports.ts';
import type { Config } from '../config.ts';
import { denied, invalid } from '../errors.ts';
import { ADMINS_GROUP, type Principal, type PrincipalKind } from '../identity/principal.ts';
import { findPrincipal } from '../identity/store.ts';
import { GRANT_LEVELS, LEVEL_DESCRIPTIONS, isGrantLevel, rank, type GrantLevel } from './levels.ts';
import { ROOT, rootLevel } from './resolve.ts';
import { authorizeModelId, type Access } from './authorize.ts';
import { parseAcl, type GrantInput } from './acl-input.ts';

export const OBJECT_TYPE = 'registered-model';
/** How per-model responses name the registry-wide object grants are inherited from (observed, with the slash). */
export const INHERITED_FROM_ROOT = '/registered-models/';
/**
 * `object_id` of the root GET itself. The sources never showed it ("/registered-models/" or
 * "/registered-models/root"); we answer "/registered-models/root" because that is the id Terraform keys the
 * registry-wide object by (its admin-grant special cases compare against exactly that string), so a
 * round trip through Terraform sees the id it asked for.
 */
export const ROOT_OBJECT_ID = '/registered-models/root';

/** The workspace right to create models, reported on root only (PermissionLevel, not a grant level). */
export const CAN_CREATE_REGISTERED_MODEL = 'CAN_CREATE_REGISTERED_MODEL';

/**
 * Where the create-model right comes from: the REGATE_MODEL_CREATORS setting, not a grant on root. It is
 * shown on root as an *inherited* permission from this source, because no Permissions call can set or remove
 * it: as a direct entry, Terraform (which ignores inherited permissions) planned to remove it on every run.
 */
export const MODEL_CREATORS_SOURCE = '/settings/REGATE_MODEL_CREATORS';

const MODEL_ID = /^[0-9a-f]{32}$/;

export interface Permission {
  permission_level: string;
  inherited: boolean;
  inherited_from_object?: string[];
}

export interface AccessControlResponse {
  user_name?: string;
  group_name?: string;
  service_principal_name?: string;
  display_name?: string;
  all_permissions: Permission[];
}

export interface ObjectPermissions {
  object_id: string;
  object_type: typeof OBJECT_TYPE;
  access_control_list: AccessControlResponse[];
}

/** A model id (32 lower-case hex, as `registered_model_databricks.id`) or `root`. */
export function parseObjectId(raw: string): string {
  if (raw === ROOT || MODEL_ID.test(raw)) return raw;
  throw invalid(`'${raw}' is not a valid registered model ID.`);
}

/**
 * Who may read or change an object's permissions (the same rule for both). On a model: CAN_MANAGE (modify_permissions), for GET too:
 * the seed's table does not list reading permissions, and an ACL names every principal with access, so we
 * take the conservative answer of endpoint-abilities.md. A caller with no permission gets the missing-model
 * answer. On root: workspace admins and holders of registry-wide CAN_MANAGE; others get 403, since the
 * registry-wide object always exists.
 */
export async function authorizePermissions(access: Access, principal: Principal, objectId: string): Promise<void> {
  if (objectId === ROOT) {
    if ((await rootLevel(access.db, principal)) !== 'CAN_MANAGE') {
      throw denied('Only workspace admins and principals with CAN_MANAGE on all registered models may view or change registry-wide permissions.');
    }
    return;
  }
  await authorizeModelId(access, principal, objectId, { kind: 'modify_permissions' });
}

/** The settable levels. On a model the caller needs CAN_READ; on root any authenticated principal may ask. */
export async function permissionLevels(access: Access, principal: Principal, objectId: string) {
  if (objectId !== ROOT) await authorizeModelId(access, principal, objectId, { kind: 'view' });
  return {
    permission_levels: GRANT_LEVELS.map((level) => ({ permission_level: level, description: LEVEL_DESCRIPTIONS[level] })),
  };
}

interface GrantRow {
  object_id: string;
  level: string;
  id: string;
  kind: PrincipalKind;
  name: string;
  display_name: string;
}

const KIND_ORDER: Record<PrincipalKind, number> = { user: 0, service_principal: 1, group: 2 };

function entryFor(kind: PrincipalKind, name: string, displayName: string): AccessControlResponse {
  switch (kind) {
    case 'user':
      return { user_name: name, display_name: displayName, all_permissions: [] };
    case 'service_principal':
      return { service_principal_name: name, display_name: displayName, all_permissions: [] };
    case 'group':
      return { group_name: name, all_permissions: [] };
  }
}

/** @example await getPermissions(db, config, model.id) // { object_id: '/registered-models/<id>', ... } */
export async function getPermissions(db: SqlDb, config: Config, objectId: string): Promise<ObjectPermissions> {
  const rows = await db
    .prepare(
      `SELECT g.object_id, g.level, p.id, p.kind, p.name, p.display_name FROM grants g
       JOIN principals p ON p.id = g.principal_id WHERE g.object_id IN (?, '${ROOT}')`,
    )
    .bind(objectId)
    .all<GrantRow>();
  const admins = await findPrincipal(db, 'group', ADMINS_GROUP);
  const entries = new Map<string, { kind: PrincipalKind; name: string; entry: AccessControlResponse }>();
  const add = (id: string, kind: PrincipalKind, name: string, displayName: string, perm: Permission) => {
    let e = entries.get(id);
    if (!e) {
      e = { kind, name, entry: entryFor(kind, name, displayName) };
      entries.set(id, e);
    }
    e.entry.all_permissions.push(perm);
  };
  const isRoot = objectId === ROOT;
  // Direct grants first, then inherited ones, each from the highest level down, so the list reads stably.
  const sorted = [...rows].sort(
    (a, b) =>
      Number(a.object_id === ROOT && !isRoot) - Number(b.object_id === ROOT && !isRoot) ||
      levelRank(b.level) - levelRank(a.level),
  );
  for (const r of sorted) {
    if (!isGrantLevel(r.level)) continue;
    // admins hold CAN_MANAGE on root implicitly; a stored root row for them would only duplicate it.
    if (r.object_id === ROOT && admins && r.id === admins.id) continue;
    const inherited = r.object_id === ROOT && !isRoot;
    add(r.id, r.kind, r.name, r.display_name, permission(r.level, inherited));
  }
  if (admins) add(admins.id, 'group', admins.name, admins.display_name, permission('CAN_MANAGE', !isRoot));
  if (isRoot) {
    const creators = await findPrincipal(db, 'group', config.modelCreatorsGroup);
    if (creators) {
      add(creators.id, 'group', creators.name, creators.display_name, {
        permission_level: CAN_CREATE_REGISTERED_MODEL,
        inherited: true,
        inherited_from_object: [MODEL_CREATORS_SOURCE],
      });
    }
  }
  const list = [...entries.values()].sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || cmp(a.name, b.name));
  return {
    object_id: isRoot ? ROOT_OBJECT_ID : `/registered-models/${objectId}`,
    object_type: OBJECT_TYPE,
    access_control_list: list.map((e) => e.entry),
  };
}

function permission(level: string, inherited: boolean): Permission {
  return inherited
    ? { permission_level: level, inherited: true, inherited_from_object: [INHERITED_FROM_ROOT] }
    : { permission_level: level, inherited: false };
}

function levelRank(level: string): number {
  return isGrantLevel(level) ? rank(level) : -1;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export type WriteMode = 'replace' | 'update';

/**
 * Validates `acl`, then writes it in one batch together with the ACL epoch bump of every model whose
 * effective levels it can change (the model, or all models for root), which the ACL cache keys on.
 * `replace` (PUT) drops every direct grant on the object first; `update` (PATCH) upserts the listed ones.
 * Granting `admins` anything on root is a no-op: they hold CAN_MANAGE there implicitly, and it cannot be
 * lowered or removed (Terraform re-sends that grant on every root update).
 */
export async function writePermissions(
  db: SqlDb,
  objectId: string,
  acl: Record<string, unknown>[],
  mode: WriteMode,
  /** The audit record of this change, written in the same batch. */
  audit?: (summary: string) => SqlStatement,
): Promise<void> {
  let grants: GrantInput[] = await parseAcl(db, acl);
  if (objectId === ROOT) grants = grants.filter((g) => !(g.kind === 'group' && g.name === ADMINS_GROUP));
  if (mode === 'update' && grants.length === 0) return;
  const statements: SqlStatement[] = [];
  if (mode === 'replace') statements.push(db.prepare('DELETE FROM grants WHERE object_id = ?').bind(objectId));
  for (const g of grants) statements.push(upsertGrant(db, objectId, g.principalId, g.level));
  statements.push(
    objectId === ROOT
      ? db.prepare('UPDATE registered_models SET acl_epoch = acl_epoch + 1')
      : db.prepare('UPDATE registered_models SET acl_epoch = acl_epoch + 1 WHERE id = ?').bind(objectId),
  );
  if (audit) statements.push(audit(`${mode} ${grants.map((g) => `${g.kind}:${g.name}=${g.level}`).join(',') || '(none)'}`));
  await db.batch(statements);
}

/** Writes a grant; on a model, only while the model still exists, so a concurrent delete leaves no orphan. */
function upsertGrant(db: SqlDb, objectId: string, principalId: string, level: GrantLevel): SqlStatement {
  // SQLite needs a WHERE on INSERT … SELECT … ON CONFLICT to parse the upsert; `WHERE 1` for root.
  const guard = objectId === ROOT ? 'WHERE 1' : 'WHERE EXISTS (SELECT 1 FROM registered_models WHERE id = ?1)';
  return db
    .prepare(
      `INSERT INTO grants (object_id, principal_id, level) SELECT ?1, ?2, ?3 ${guard}
       ON CONFLICT (object_id, principal_id) DO UPDATE SET level = excluded.level`,
    )
    .bind(objectId, principalId, level);
}
