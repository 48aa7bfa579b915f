/**
 * @module identity-cache
 * Authentication from memory: token hash → principal id, and principal id → principal with its group
 * closure, each entry stamped with the workspace epochs it was read under (access/epoch.ts). Every request
 * reads the epochs anyway, so an entry is used only while nothing that could change it has moved:
 * - a revoked token moves `auth_epoch`;
 * - a deactivated or deleted principal (its tokens cascade) and any membership change move the global epoch.
 * So a revocation anywhere is seen by the next request on every instance, and a warm request authenticates
 * with no SQL at all. Expiry is checked against the clock on every use. Keys are SHA-256 hashes, never tokens.
 * Unknown tokens are not cached: a token created a moment ago must work at once, and creation moves no epoch.
 */
import type { Cache } from '../cache.ts';
import type { Clock, SqlDb } from '../ports.ts';
import type { Epochs } from '../access/epoch.ts';
import { constantTimeEqual, sha256Hex } from '../ids.ts';
import type { Principal } from './principal.ts';
import { isWellFormedToken } from './tokens.ts';
import { loadPrincipal } from './store.ts';

export interface TokenEntry {
  principalId: string;
  hash: string;
  expiresAt: number | null;
  global: number;
  auth: number;
}

export interface PrincipalEntry {
  principal: Omit<Principal, 'epochs'>;
  global: number;
}

/** How long an entry may live even when no epoch moves (bounds memory, not staleness). */
export const IDENTITY_TTL_MS = 300_000;

export class IdentityCache {
  readonly #tokens: Cache<TokenEntry>;
  readonly #principals: Cache<PrincipalEntry>;
  readonly #clock: Clock;
  readonly #hash: (text: string) => Promise<string>;

  constructor(tokens: Cache<TokenEntry>, principals: Cache<PrincipalEntry>, clock: Clock, hash: (text: string) => Promise<string> = sha256Hex) {
    this.#tokens = tokens;
    this.#principals = principals;
    this.#clock = clock;
    this.#hash = hash;
  }

  /**
   * The live principal a bearer token names under `epochs`, or null (unknown, expired, revoked, inactive).
   * @example const p = await ids.principalForToken(db, token, epochs)
   */
  async principalForToken(db: SqlDb, token: string, epochs: Epochs): Promise<Principal | null> {
    if (!isWellFormedToken(token)) return null;
    const hash = await this.#hash(token);
    let entry = this.#tokens.get(hash);
    if (!entry || entry.global !== epochs.global || entry.auth !== epochs.auth) {
      const row = await db
        .prepare('SELECT principal_id, hash, expires_at FROM tokens WHERE hash = ?')
        .bind(hash)
        .first<{ principal_id: string; hash: string; expires_at: number | null }>();
      if (!row) return null;
      entry = { principalId: row.principal_id, hash: row.hash, expiresAt: row.expires_at, global: epochs.global, auth: epochs.auth };
      this.#tokens.set(hash, entry, IDENTITY_TTL_MS);
    }
    if (!constantTimeEqual(entry.hash, hash)) return null;
    if (entry.expiresAt !== null && entry.expiresAt <= this.#clock.now()) return null;
    return this.principal(db, entry.principalId, epochs);
  }

  /** The principal by id with its groups under `epochs`, or null when gone or deactivated. */
  async principal(db: SqlDb, id: string, epochs: Epochs): Promise<Principal | null> {
    const hit = this.#principals.get(id);
    if (hit && hit.global === epochs.global) return { ...hit.principal, epochs };
    const p = await loadPrincipal(db, id, epochs);
    if (!p) return null;
    const { epochs: _e, ...rest } = p;
    this.#principals.set(id, { principal: rest, global: epochs.global }, IDENTITY_TTL_MS);
    return p;
  }

  clear(): void {
    this.#tokens.clear();
    this.#principals.clear();
  }
}
