/**
 * @module bootstrap
 * First start of a fresh database: the built-in groups, a workspace id, and the first workspace admin with
 * one token. Later starts change nothing (REGATE_ADMIN_TOKEN included): a lost admin token is recovered with
 * `npm run admin -- reset-token` on the data directory (identity/recovery.ts), and the last active admin cannot
 * be removed through the API (identity/admin-guard.ts).
 */
import type { Clock, SqlDb } from './ports.ts';
import { createPrincipal, ensureBuiltinGroups, findPrincipal } from './identity/store.ts';
import { createToken, isWellFormedToken } from './identity/tokens.ts';
import { ADMINS_GROUP } from './identity/principal.ts';
import { newScimId } from './ids.ts';
import { ConfigError } from './config.ts';

export interface BootstrapResult {
  workspaceId: string;
  /** Set only on the start that created the first admin: the token to show once. */
  firstAdmin?: { userName: string; token: string };
}

export const FIRST_ADMIN = 'admin';

/** @example const { workspaceId, firstAdmin } = await bootstrap(db, clock, { adminToken: env.REGATE_ADMIN_TOKEN }) */
export async function bootstrap(db: SqlDb, clock: Clock, opts: { adminToken?: string } = {}): Promise<BootstrapResult> {
  await ensureBuiltinGroups(db, clock);
  let ws = await db.prepare(`SELECT value FROM meta WHERE key = 'workspace_id'`).first<{ value: string }>();
  if (!ws) {
    await db.prepare(`INSERT OR IGNORE INTO meta (key, value) VALUES ('workspace_id', ?)`).bind(newScimId()).run();
    ws = await db.prepare(`SELECT value FROM meta WHERE key = 'workspace_id'`).first<{ value: string }>();
  }
  const result: BootstrapResult = { workspaceId: ws!.value };
  const done = await db.prepare(`SELECT value FROM meta WHERE key = 'first_admin'`).first();
  if (done) return result;

  if (opts.adminToken !== undefined && !isWellFormedToken(opts.adminToken)) {
    throw new ConfigError('REGATE_ADMIN_TOKEN must be 8 to 512 characters of [A-Za-z0-9-._~+/].');
  }
  const admins = (await findPrincipal(db, 'group', ADMINS_GROUP))!;
  const user =
    (await findPrincipal(db, 'user', FIRST_ADMIN)) ?? (await createPrincipal(db, clock, { kind: 'user', name: FIRST_ADMIN }));
  await db.batch([
    db.prepare('INSERT OR IGNORE INTO group_members (group_id, member_id) VALUES (?, ?)').bind(admins.id, user.id),
    db.prepare(`INSERT INTO meta (key, value) VALUES ('first_admin', ?)`).bind(user.id),
  ]);
  const { token } = await createToken(db, clock, {
    principalId: user.id,
    createdBy: user.id,
    comment: 'first admin token',
    ...(opts.adminToken !== undefined ? { secret: opts.adminToken } : {}),
  });
  result.firstAdmin = { userName: FIRST_ADMIN, token };
  return result;
}
