/**
 * @module scim
 * SCIM 2.0 shapes of the subset the Databricks SDK uses (Users, Groups, ServicePrincipals, Me), and the
 * `eq` filter and PATCH operations it sends.
 */
import type { SqlDb } from '../ports.ts';
import { invalid } from '../errors.ts';
import { directGroups, directMembers } from './store.ts';
import type { PrincipalKind, PrincipalRow } from './principal.ts';

export const SCHEMA = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  service_principal: 'urn:ietf:params:scim:schemas:core:2.0:ServicePrincipal',
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
} as const;

/** The SCIM attribute that holds a principal's unique name, per kind. */
export const NAME_ATTRIBUTE: Record<PrincipalKind, string> = {
  user: 'userName',
  service_principal: 'applicationId',
  group: 'displayName',
};

const ref = (p: PrincipalRow) => {
  const kind = p.kind === 'user' ? 'Users' : p.kind === 'group' ? 'Groups' : 'ServicePrincipals';
  return { value: p.id, display: p.display_name, $ref: `${kind}/${p.id}` };
};

export async function renderPrincipal(db: SqlDb, p: PrincipalRow): Promise<Record<string, unknown>> {
  const groups = (await directGroups(db, p.id)).map((g) => ({ value: g.id, display: g.display_name, type: 'direct', $ref: `Groups/${g.id}` }));
  const common = { id: p.id, displayName: p.display_name, schemas: [SCHEMA[p.kind]], groups };
  switch (p.kind) {
    case 'user':
      return { ...common, userName: p.name, active: p.active === 1, emails: [{ value: p.name, primary: true, type: 'work' }] };
    case 'service_principal':
      return { ...common, applicationId: p.name, active: p.active === 1 };
    case 'group':
      return { ...common, members: (await directMembers(db, p.id)).map(ref) };
  }
}

/**
 * Parses the SCIM filter forms the SDK sends for lookups: `<attr> eq "<value>"` (also `co`, `sw`),
 * where attr is the kind's name attribute, displayName or id. Returns a row predicate.
 */
export function parseScimFilter(filter: string | undefined, kind: PrincipalKind): (p: PrincipalRow) => boolean {
  if (filter === undefined || filter.trim() === '') return () => true;
  // The value may also come unquoted (`displayName eq some-name`): Databricks matches it like the quoted
  // form, and clients send it that way. An unquoted value runs to the end and holds no spaces or quotes.
  const m = /^\s*(\w+)\s+(eq|co|sw)\s+(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^\s"']+))\s*$/i.exec(filter);
  if (!m) throw invalid(`Unsupported SCIM filter: ${filter}. Supported: <attribute> eq|co|sw "<value>".`);
  const attr = m[1]!.toLowerCase();
  const op = m[2]!.toLowerCase();
  const value = m[5] ?? (m[3] ?? m[4] ?? '').replace(/\\(.)/g, '$1');
  const field = (p: PrincipalRow): string => {
    if (attr === 'id') return p.id;
    if (attr === 'displayname') return p.display_name;
    if (attr === NAME_ATTRIBUTE[kind].toLowerCase()) return p.name;
    throw invalid(`Unsupported SCIM filter attribute: ${m[1]}.`);
  };
  const v = value.toLowerCase();
  if (op === 'eq') return (p) => field(p).toLowerCase() === v;
  if (op === 'sw') return (p) => field(p).toLowerCase().startsWith(v);
  return (p) => field(p).toLowerCase().includes(v);
}

export interface MemberChange {
  add: string[];
  remove: string[];
  /** When set, the group's members become exactly this list. */
  replace?: string[];
  displayName?: string;
  active?: boolean;
}

const memberIds = (value: unknown): string[] => {
  const list = Array.isArray(value) ? value : [value];
  return list.map((x) => {
    if (typeof x !== 'object' || x === null || typeof (x as { value?: unknown }).value !== 'string') {
      throw invalid('SCIM member entries must be objects with a string "value" (the member id).');
    }
    return (x as { value: string }).value;
  });
};

/**
 * A SCIM boolean as clients send it: JSON true/false, the strings "true"/"false" (any case; the Databricks
 * docs and SDK users send `"value": "false"`, because the SDK's Patch.as_dict drops a falsy value), or the
 * docs' `[{"value": "false"}]` list form. Anything else is INVALID_PARAMETER_VALUE.
 * @example scimBoolean([{ value: 'false' }], 'active') // false
 */
export function scimBoolean(value: unknown, attr: string): boolean {
  let v = value;
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'object' && v[0] !== null) v = (v[0] as { value?: unknown }).value;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  throw invalid(`Invalid value ${JSON.stringify(value)} for SCIM attribute '${attr}': expected true or false.`);
}

/** Reads SCIM PatchOp operations: add/remove/replace of members, displayName and active. */
export function parsePatchOperations(ops: Record<string, unknown>[]): MemberChange {
  const change: MemberChange = { add: [], remove: [] };
  for (const op of ops) {
    const kind = String(op.op ?? '').toLowerCase();
    const path = typeof op.path === 'string' ? op.path : undefined;
    const value = op.value;
    const filtered = path ? /^members\[value eq "([^"]+)"\]$/.exec(path) : null;
    if (kind === 'remove' && filtered) {
      change.remove.push(filtered[1]!);
    } else if ((kind === 'add' || kind === 'remove' || kind === 'replace') && path === 'members') {
      const ids = memberIds(value);
      if (kind === 'add') change.add.push(...ids);
      else if (kind === 'remove') change.remove.push(...ids);
      else change.replace = ids;
    } else if ((kind === 'add' || kind === 'replace') && path === undefined && typeof value === 'object' && value !== null) {
      const v = value as Record<string, unknown>;
      if (v.members !== undefined) {
        const ids = memberIds(v.members);
        if (kind === 'add') change.add.push(...ids);
        else change.replace = ids;
      }
      if (typeof v.displayName === 'string') change.displayName = v.displayName;
      if (v.active !== undefined) change.active = scimBoolean(v.active, 'active');
    } else if (kind === 'replace' && path === 'displayName' && typeof value === 'string') {
      change.displayName = value;
    } else if ((kind === 'replace' || kind === 'add') && path === 'active') {
      change.active = scimBoolean(value, 'active');
    } else {
      throw invalid(`Unsupported SCIM patch operation: ${JSON.stringify(op)}`);
    }
  }
  return change;
}
