/**
 * @module acl-input
 * Validates a Permissions API `access_control_list` and resolves each entry to a stored principal, before
 * anything is written. Users are named by user name, service principals by application id, groups by
 * display name: the `name` column of `principals` in each case.
 */
import type { SqlDb } from '../ports.ts';
import { invalid } from '../errors.ts';
import { findPrincipal } from '../identity/store.ts';
import type { PrincipalKind } from '../identity/principal.ts';
import { GRANT_LEVELS, isGrantLevel, maxLevel, type GrantLevel } from './levels.ts';

/** One validated grant: who (by principal id) gets which level. */
export interface GrantInput {
  principalId: string;
  kind: PrincipalKind;
  name: string;
  level: GrantLevel;
}

const NAME_FIELDS = [
  ['user_name', 'user', 'UserName'],
  ['group_name', 'group', 'GroupName'],
  ['service_principal_name', 'service_principal', 'ServicePrincipalName'],
] as const;

/** A request naming thousands of principals is a mistake or an attack; either way, refuse it early. */
export const MAX_ACL_ENTRIES = 1000;

/**
 * Parses and resolves an access control list. Throws INVALID_PARAMETER_VALUE for a bad entry or an unknown
 * principal (Databricks answers "Principal: UserName(x) does not exist" with that code). When one request
 * names a principal twice, the higher level wins, because a grant row holds one level per principal.
 * @example const grants = await parseAcl(db, p.objList('access_control_list'))
 */
export async function parseAcl(db: SqlDb, entries: Record<string, unknown>[]): Promise<GrantInput[]> {
  if (entries.length > MAX_ACL_ENTRIES) throw invalid(`access_control_list may hold at most ${MAX_ACL_ENTRIES} entries.`);
  const byPrincipal = new Map<string, GrantInput>();
  for (const [i, entry] of entries.entries()) {
    const named = NAME_FIELDS.filter(([field]) => entry[field] !== undefined && entry[field] !== null);
    if (named.length !== 1) {
      throw invalid(
        `access_control_list[${i}] must name exactly one of user_name, group_name or service_principal_name.`,
      );
    }
    const [field, kind, label] = named[0]!;
    const name = entry[field];
    if (typeof name !== 'string' || name.length === 0 || name.length > 1024) {
      throw invalid(`access_control_list[${i}].${field} must be a non-empty string.`);
    }
    const level = entry.permission_level;
    if (!isGrantLevel(level)) {
      throw invalid(
        `Invalid permission level ${JSON.stringify(level ?? null)} in access_control_list[${i}]. ` +
          `Valid levels for registered models: ${GRANT_LEVELS.join(', ')}.`,
      );
    }
    const row = await findPrincipal(db, kind, name);
    if (!row) throw invalid(`Principal: ${label}(${name}) does not exist.`);
    const prev = byPrincipal.get(row.id);
    byPrincipal.set(row.id, {
      principalId: row.id,
      kind,
      name,
      level: prev ? (maxLevel(prev.level, level) as GrantLevel) : level,
    });
  }
  return [...byPrincipal.values()];
}
