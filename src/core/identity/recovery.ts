/**
 * @module recovery
 * Getting back into a workspace nobody can administer (lost admin token; or a data directory from before the
 * last-admin rule whose admin was deactivated or left `admins`): `npm run admin -- reset-token` on the data
 * directory. It makes the named user (default `admin`, made if missing) active and a member of `admins`, and
 * creates one new token for it. It only adds: nothing is revoked or removed, so running it cannot lock anyone
 * out. The membership change moves the global epoch in the same batch, so a regate already running on the
 * database sees the admin at its next request; a new token needs no epoch (unknown tokens are never cached).
 */
import type { Clock, SqlDb } from '../ports.ts';
import { bumpGlobalEpoch } from '../access/epoch.ts';
import { createPrincipal, ensureBuiltinGroups, findPrincipal } from './store.ts';
import { createToken } from './tokens.ts';
import { ADMINS_GROUP } from './principal.ts';

export const RECOVERY_TOKEN_COMMENT = 'recovery token (npm run admin -- reset-token)';

export interface RecoveryResult {
  userName: string;
  /** The new token: shown once, never stored (only its hash is). */
  token: string;
  created: boolean;
  reactivated: boolean;
}

/** @example const { token } = await resetAdminToken(db, systemClock, 'admin') */
export async function resetAdminToken(db: SqlDb, clock: Clock, userName: string): Promise<RecoveryResult> {
  await ensureBuiltinGroups(db, clock);
  const admins = (await findPrincipal(db, 'group', ADMINS_GROUP))!;
  const existing = await findPrincipal(db, 'user', userName);
  const user = existing ?? (await createPrincipal(db, clock, { kind: 'user', name: userName }));
  await db.batch([
    db.prepare('UPDATE principals SET active = 1 WHERE id = ?').bind(user.id),
    db.prepare('INSERT OR IGNORE INTO group_members (group_id, member_id) VALUES (?, ?)').bind(admins.id, user.id),
    bumpGlobalEpoch(db),
  ]);
  const { token } = await createToken(db, clock, { principalId: user.id, createdBy: user.id, comment: RECOVERY_TOKEN_COMMENT });
  return { userName, token, created: existing === null, reactivated: existing !== null && existing.active === 0 };
}
