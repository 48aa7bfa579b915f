/**
 * @module bootstrap
 * First start of a fresh database: the built-in groups, a workspace id, and the first workspace admin with
 * one token. Later starts change nothing (REGATE_ADMIN_TOKEN included): a lost admin token is recovered with
 * `npm run admin -- reset-token` on the data directory (identity/recovery.ts), and the last active admin cannot
 * be removed through the API (identity/admin-guard.ts).
 *
 * Two starts at once on a fresh database (two processes on one data directory, two Workers isolates on one D1)
 * must not both make a first admin, nor fail on each other's rows. D1 has no interactive transactions, so the
 * check and the writes cannot be a read followed by a batch: the first admin, its memberships, its token and the
 * `meta.first_admin` claim are one batch whose every statement is conditional on the claim being absent, the
 * claim last. Batches are serialised, so exactly one batch finds it absent and writes; the other writes nothing
 * (no duplicate token even when both were given the same REGATE_ADMIN_TOKEN) and learns it lost from the claim
 * insert returning no row.
 */
import type { Clock, SqlDb } from './ports.ts';
import { ensureBuiltinGroups } from './identity/store.ts';
import { isWellFormedToken, newTokenSecret } from './identity/tokens.ts';
import { ADMINS_GROUP, USERS_GROUP } from './identity/principal.ts';
import { newScimId, randomHex, sha256Hex } from './ids.ts';
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
  const token = opts.adminToken ?? newTokenSecret();
  const now = clock.now();
  const unclaimed = `NOT EXISTS (SELECT 1 FROM meta WHERE key = 'first_admin')`;
  const adminUser = `SELECT id FROM principals WHERE kind = 'user' AND name = ?`;
  const [, , , claim] = await db.batch([
    // A user named admin that already exists (made by `npm run admin -- reset-token` first) is reused.
    db
      .prepare(`INSERT OR IGNORE INTO principals (id, kind, name, display_name, active, created_at) SELECT ?, 'user', ?, ?, 1, ? WHERE ${unclaimed}`)
      .bind(newScimId(), FIRST_ADMIN, FIRST_ADMIN, now),
    db
      .prepare(
        `INSERT OR IGNORE INTO group_members (group_id, member_id) SELECT g.id, u.id FROM principals g, (${adminUser}) u
         WHERE g.kind = 'group' AND g.name IN (?, ?) AND ${unclaimed}`,
      )
      .bind(FIRST_ADMIN, ADMINS_GROUP, USERS_GROUP),
    // The same row createToken writes (identity/tokens.ts), made conditional.
    db
      .prepare(
        `INSERT INTO tokens (id, principal_id, hash, comment, created_at, expires_at, created_by)
         SELECT ?, u.id, ?, 'first admin token', ?, NULL, u.id FROM (${adminUser}) u WHERE ${unclaimed}`,
      )
      .bind(randomHex(32), await sha256Hex(token), now, FIRST_ADMIN),
    db.prepare(`INSERT INTO meta (key, value) SELECT 'first_admin', u.id FROM (${adminUser}) u WHERE ${unclaimed} RETURNING value`).bind(FIRST_ADMIN),
  ]);
  // Another start claimed the first admin between our read and our batch: it shows the token, we change nothing.
  if (!claim || claim.length === 0) return result;
  result.firstAdmin = { userName: FIRST_ADMIN, token };
  return result;
}
