/**
 * @module resolve
 * Where a principal's level on a model comes from: direct grants, grants to its groups (nested included),
 * registry-wide grants on `root` to either, and membership of `admins`. The effective level is the highest.
 * The creator's CAN_MANAGE is an ordinary direct grant written when the model is created.
 */
import type { SqlDb } from '../ports.ts';
import type { Principal } from '../identity/principal.ts';
import { maxLevel, isGrantLevel, type Level } from './levels.ts';

export const ROOT = 'root';

/** The ids a principal's grants may be written to: itself and every group it is in. */
export function granteeIds(p: Principal): string {
  return JSON.stringify([p.id, ...p.groupIds]);
}

/** @example await effectiveLevel(db, principal, model.id) // 'CAN_EDIT' */
export async function effectiveLevel(db: SqlDb, principal: Principal, modelId: string): Promise<Level> {
  if (principal.isAdmin) return 'CAN_MANAGE';
  const rows = await db
    .prepare(
      `SELECT level FROM grants WHERE object_id IN (?1, '${ROOT}')
         AND principal_id IN (SELECT value FROM json_each(?2))`,
    )
    .bind(modelId, granteeIds(principal))
    .all<{ level: string }>();
  let level: Level = 'NO_PERMISSIONS';
  for (const r of rows) if (isGrantLevel(r.level)) level = maxLevel(level, r.level);
  return level;
}

/** The caller's level on the registry-wide object: CAN_MANAGE for admins, else its grants on `root`. */
export async function rootLevel(db: SqlDb, principal: Principal): Promise<Level> {
  if (principal.isAdmin) return 'CAN_MANAGE';
  const rows = await db
    .prepare(`SELECT level FROM grants WHERE object_id = '${ROOT}' AND principal_id IN (SELECT value FROM json_each(?1))`)
    .bind(granteeIds(principal))
    .all<{ level: string }>();
  let level: Level = 'NO_PERMISSIONS';
  for (const r of rows) if (isGrantLevel(r.level)) level = maxLevel(level, r.level);
  return level;
}

/**
 * SQL condition (on alias `m`) true for the models the principal may read; binds `?grantees` when it has a
 * placeholder. Every stored grant is at least CAN_READ, so a grant on root makes every model readable (then
 * the condition is true), and otherwise a grant on the model does. The second form is driven from the caller's
 * grants (an index range per grantee), so a search costs what the caller can see, not the registry's size.
 */
/** The condition of a caller who may read every model (an admin, or a registry-wide grant). */
export const READ_ALL = '1 = 1';

export async function readableModelsCondition(db: SqlDb, p: Principal): Promise<{ sql: string; grantees: string }> {
  if (p.isAdmin) return { sql: READ_ALL, grantees: '[]' };
  const grantees = granteeIds(p);
  const root = await db
    .prepare(`SELECT 1 AS x FROM grants WHERE object_id = '${ROOT}' AND principal_id IN (SELECT value FROM json_each(?1)) LIMIT 1`)
    .bind(grantees)
    .first();
  if (root) return { sql: READ_ALL, grantees: '[]' };
  return {
    sql: `m.id IN (SELECT g.object_id FROM grants g WHERE g.principal_id IN (SELECT value FROM json_each(?)))`,
    grantees,
  };
}
