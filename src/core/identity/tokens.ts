/**
 * @module tokens
 * Personal access tokens. A token is `dapi` + 32 random hex digits (the Databricks PAT shape), shown once;
 * the store keeps only its SHA-256. Lookup is by that hash, then the stored and computed digests are
 * compared in constant time.
 */
import type { Clock, SqlDb } from '../ports.ts';
import { randomHex, sha256Hex } from '../ids.ts';
import { bumpAuthEpoch } from '../access/epoch.ts';

export interface TokenRow {
  id: string;
  principal_id: string;
  comment: string;
  created_at: number;
  expires_at: number | null;
  created_by: string;
}

/** RFC 6750 b64token (token68) of a sane length. Anything else is not worth hashing. */
const TOKEN68 = /^[A-Za-z0-9\-._~+/]{8,512}=*$/;

export function isWellFormedToken(token: string): boolean {
  return TOKEN68.test(token);
}

export function newTokenSecret(): string {
  return `dapi${randomHex(16)}`;
}

export interface CreateTokenInput {
  principalId: string;
  createdBy: string;
  comment?: string;
  /** Seconds until expiry; absent, null or <= 0 means the token never expires. */
  lifetimeSeconds?: number | null;
  /** Use this secret instead of a random one (the first admin's token from REGATE_ADMIN_TOKEN). */
  secret?: string;
}

export async function createToken(db: SqlDb, clock: Clock, input: CreateTokenInput): Promise<{ token: string; row: TokenRow }> {
  const token = input.secret ?? newTokenSecret();
  const now = clock.now();
  const row: TokenRow = {
    id: randomHex(32),
    principal_id: input.principalId,
    comment: input.comment ?? '',
    created_at: now,
    expires_at: input.lifetimeSeconds && input.lifetimeSeconds > 0 ? now + input.lifetimeSeconds * 1000 : null,
    created_by: input.createdBy,
  };
  await db
    .prepare('INSERT INTO tokens (id, principal_id, hash, comment, created_at, expires_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)')
    .bind(row.id, row.principal_id, await sha256Hex(token), row.comment, row.created_at, row.expires_at, row.created_by)
    .run();
  return { token, row };
}

export async function listTokens(db: SqlDb, principalId?: string): Promise<TokenRow[]> {
  const sql = 'SELECT id, principal_id, comment, created_at, expires_at, created_by FROM tokens';
  return principalId === undefined
    ? db.prepare(`${sql} ORDER BY created_at`).all<TokenRow>()
    : db.prepare(`${sql} WHERE principal_id = ? ORDER BY created_at`).bind(principalId).all<TokenRow>();
}

export async function getToken(db: SqlDb, id: string): Promise<TokenRow | null> {
  return db
    .prepare('SELECT id, principal_id, comment, created_at, expires_at, created_by FROM tokens WHERE id = ?')
    .bind(id)
    .first<TokenRow>();
}

/**
 * Deletes a token; with `principalId`, only if it is that principal's. Returns whether one was deleted.
 * The auth epoch moves in the same batch, so every instance's token cache drops it at its next request.
 */
export async function deleteToken(db: SqlDb, id: string, principalId?: string): Promise<boolean> {
  const del =
    principalId === undefined
      ? db.prepare('DELETE FROM tokens WHERE id = ? RETURNING id').bind(id)
      : db.prepare('DELETE FROM tokens WHERE id = ? AND principal_id = ? RETURNING id').bind(id, principalId);
  const [deleted] = await db.batch([del, bumpAuthEpoch(db)]);
  return (deleted?.length ?? 0) > 0;
}
