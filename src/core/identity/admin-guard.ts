/**
 * @module admin-guard
 * The workspace always keeps one active admin. `REGATE_ADMIN_TOKEN` is read only for a new data directory, so
 * a workspace whose last admin left `admins`, was deactivated or deleted could not be administered again
 * (short of `npm run admin -- reset-token` on the data directory). Every identity change that could remove an
 * admin therefore runs through `identityBatch`, which appends a guard statement to the same batch: it fails
 * when, after the batch's own changes, no active user or service principal is in `admins` (directly or through
 * nested groups), and the batch rolls back whole. Checking inside the transaction, not before it, means two
 * admins removing each other at the same time cannot both succeed, on one instance or several.
 *
 * The SqlDb port (node:sqlite and D1 alike) has no way to raise a custom error from plain SQL outside a
 * trigger, and migrations cannot hold triggers (migrate.ts splits on semicolons), so the guard fails through a
 * constraint only it can violate: it inserts a NULL into `meta.value` (NOT NULL) when no admin remains.
 * `identityBatch` recognises that failure, and the UNIQUE (kind, name) failure of a rename that lost a race,
 * and answers them as GatewayErrors instead of a 500.
 */
import type { SqlDb, SqlStatement } from '../ports.ts';
import { alreadyExists, invalid } from '../errors.ts';
import { bumpGlobalEpoch } from '../access/epoch.ts';
import { ADMINS_GROUP } from './principal.ts';

/** Selects one row when an active user or service principal is in `admins`, directly or through nested groups. */
export const ACTIVE_ADMIN_SQL = `WITH RECURSIVE admin_tree(id) AS (
    SELECT id FROM principals WHERE kind = 'group' AND name = '${ADMINS_GROUP}'
    UNION SELECT gm.member_id FROM group_members gm JOIN admin_tree t ON gm.group_id = t.id)
  SELECT 1 FROM admin_tree t JOIN principals p ON p.id = t.id WHERE p.kind <> 'group' AND p.active = 1 LIMIT 1`;

const GUARD_KEY = 'guard: last active admin';

/** The statement that fails (NOT NULL on meta.value) when no active admin is left. Put it last in a batch. */
export function lastAdminGuard(db: SqlDb): SqlStatement {
  return db.prepare(`INSERT INTO meta (key, value) SELECT ?, NULL WHERE NOT EXISTS (${ACTIVE_ADMIN_SQL})`).bind(GUARD_KEY);
}

export const LAST_ADMIN_MESSAGE =
  'Refused: this would leave the workspace without an active admin. Add or activate another member of admins first ' +
  '(the last active admin cannot leave admins, be deactivated or deleted).';

const isGuardFailure = (e: unknown) => e instanceof Error && /NOT NULL constraint failed: meta\.value/.test(e.message);
const isNameTaken = (e: unknown) => e instanceof Error && /UNIQUE constraint failed: principals\.kind, principals\.name/.test(e.message);

/**
 * Runs identity changes in one batch with the last-admin guard and a global epoch bump (membership and
 * activity change every cached decision). `nameInUse` words the error when a rename lost a race.
 * @example await identityBatch(db, statements, () => `Group with displayName ${name} already exists.`)
 */
export async function identityBatch(db: SqlDb, statements: SqlStatement[], nameInUse: () => string = () => 'That name is already in use.'): Promise<void> {
  try {
    await db.batch([...statements, lastAdminGuard(db), bumpGlobalEpoch(db)]);
  } catch (e) {
    if (isGuardFailure(e)) throw invalid(LAST_ADMIN_MESSAGE);
    if (isNameTaken(e)) throw alreadyExists(nameInUse());
    throw e;
  }
}

/** Whether the workspace has an active admin now (the recovery command reports it). */
export async function hasActiveAdmin(db: SqlDb): Promise<boolean> {
  return (await db.prepare(ACTIVE_ADMIN_SQL).first()) !== null;
}
