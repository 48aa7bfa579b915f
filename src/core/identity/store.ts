/**
 * @module identity-store
 * Principals and group membership in SQL. Nested groups are resolved with a recursive CTE whose UNION
 * stops on cycles.
 */
import type { Clock, SqlDb } from '../ports.ts';
import { newScimId } from '../ids.ts';
import { readEpochs, type Epochs } from '../access/epoch.ts';
import { ADMINS_GROUP, USERS_GROUP, type Principal, type PrincipalKind, type PrincipalRow } from './principal.ts';

const COLUMNS = 'id, kind, name, display_name, active, created_at';

export async function getPrincipal(db: SqlDb, id: string): Promise<PrincipalRow | null> {
  return db.prepare(`SELECT ${COLUMNS} FROM principals WHERE id = ?`).bind(id).first<PrincipalRow>();
}

export async function findPrincipal(db: SqlDb, kind: PrincipalKind, name: string): Promise<PrincipalRow | null> {
  return db.prepare(`SELECT ${COLUMNS} FROM principals WHERE kind = ? AND name = ?`).bind(kind, name).first<PrincipalRow>();
}

export async function listPrincipals(db: SqlDb, kind: PrincipalKind): Promise<PrincipalRow[]> {
  return db.prepare(`SELECT ${COLUMNS} FROM principals WHERE kind = ? ORDER BY name`).bind(kind).all<PrincipalRow>();
}

/** The ids of every group `principalId` belongs to, directly or through nested groups. */
export async function transitiveGroupIds(db: SqlDb, principalId: string): Promise<string[]> {
  const rows = await db
    .prepare(
      `WITH RECURSIVE g(id) AS (
         SELECT group_id FROM group_members WHERE member_id = ?1
         UNION SELECT gm.group_id FROM group_members gm JOIN g ON gm.member_id = g.id)
       SELECT id FROM g`,
    )
    .bind(principalId)
    .all<{ id: string }>();
  return rows.map((r) => r.id);
}

export async function directMembers(db: SqlDb, groupId: string): Promise<PrincipalRow[]> {
  return db
    .prepare(
      `SELECT p.id, p.kind, p.name, p.display_name, p.active, p.created_at FROM group_members m
       JOIN principals p ON p.id = m.member_id WHERE m.group_id = ? ORDER BY p.kind, p.name`,
    )
    .bind(groupId)
    .all<PrincipalRow>();
}

export async function directGroups(db: SqlDb, memberId: string): Promise<PrincipalRow[]> {
  return db
    .prepare(
      `SELECT p.id, p.kind, p.name, p.display_name, p.active, p.created_at FROM group_members m
       JOIN principals p ON p.id = m.group_id WHERE m.member_id = ? ORDER BY p.name`,
    )
    .bind(memberId)
    .all<PrincipalRow>();
}

/**
 * Loads the caller with its groups; null when the principal is gone or deactivated. `epochs` are the ones the
 * request read (default: read them now, for callers outside a request).
 */
export async function loadPrincipal(db: SqlDb, id: string, epochs?: Epochs): Promise<Principal | null> {
  const row = await getPrincipal(db, id);
  if (!row || row.kind === 'group' || !row.active) return null;
  const groupIds = await transitiveGroupIds(db, id);
  const admins = await findPrincipal(db, 'group', ADMINS_GROUP);
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    displayName: row.display_name,
    groupIds,
    isAdmin: admins !== null && groupIds.includes(admins.id),
    epochs: epochs ?? (await readEpochs(db)),
  };
}

export interface NewPrincipal {
  kind: PrincipalKind;
  name: string;
  displayName?: string;
}

/** Creates a principal; users and service principals join the built-in `users` group. */
export async function createPrincipal(db: SqlDb, clock: Clock, p: NewPrincipal): Promise<PrincipalRow> {
  const row: PrincipalRow = {
    id: newScimId(),
    kind: p.kind,
    name: p.name,
    display_name: p.displayName ?? p.name,
    active: 1,
    created_at: clock.now(),
  };
  const statements = [
    db
      .prepare(`INSERT INTO principals (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`)
      .bind(row.id, row.kind, row.name, row.display_name, row.active, row.created_at),
  ];
  if (p.kind !== 'group') {
    statements.push(
      db
        .prepare(`INSERT INTO group_members (group_id, member_id) SELECT id, ? FROM principals WHERE kind = 'group' AND name = ?`)
        .bind(row.id, USERS_GROUP),
    );
  }
  await db.batch(statements);
  return row;
}

/**
 * Creates the built-in groups if they are missing. Idempotent, and safe when two starts run it at once: the
 * unique (kind, name) index makes the second insert of a group a no-op instead of an error.
 */
export async function ensureBuiltinGroups(db: SqlDb, clock: Clock): Promise<void> {
  for (const name of [ADMINS_GROUP, USERS_GROUP]) {
    if (await findPrincipal(db, 'group', name)) continue;
    await db
      .prepare(`INSERT OR IGNORE INTO principals (${COLUMNS}) VALUES (?, 'group', ?, ?, 1, ?)`)
      .bind(newScimId(), name, name, clock.now())
      .run();
  }
}
