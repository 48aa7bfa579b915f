/**
 * @module issued-tokens
 * Reuse of a download token just minted for the same principal, object and key. A serving fleet starting up
 * (many replicas, one service principal) and clients that ask again for a URI they already hold would
 * otherwise pay one Ed25519 signature per request; a token is a bearer credential bound to exactly this
 * principal, model, version, path, ETag and size, so handing the same one to the same principal grants
 * nothing new. A token is reused only during the first third of its lifetime, so every URI handed out still
 * has at least two thirds of the configured lifetime left (200 s of the default 300 s). Access is re-checked
 * on every download start, so reuse does not lengthen anyone's access, and every issue is still audited.
 */
import type { Cache } from '../cache.ts';
import type { Clock } from '../ports.ts';
import type { CryptoOps } from '../crypto-ops.ts';
import type { KeyRing } from './key-ring.ts';
import { DEFAULT_TTL_SECONDS, signDownloadToken, type DownloadClaims, type DownloadGrant } from './signed-url.ts';

export interface IssuedToken {
  token: string;
  claims: DownloadClaims;
}

/** The fraction of a token's lifetime during which it is handed out again. */
export const REUSE_FRACTION = 1 / 3;

/**
 * A download token for `grant`: the one issued moments ago for the same grant and signing key, or a new one.
 * @example const { token, claims } = await issueDownloadToken(cache, ring, clock, grant, { ttlSeconds: 300 })
 */
export async function issueDownloadToken(
  cache: Cache<IssuedToken>,
  keyRing: KeyRing,
  clock: Clock,
  grant: DownloadGrant,
  opts: { ttlSeconds?: number; crypto?: CryptoOps } = {},
): Promise<IssuedToken> {
  const ttl = opts.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  const { kid } = keyRing.current();
  const key = JSON.stringify([kid, ttl, grant.sub, grant.mid, grant.ver, grant.p, grant.et, grant.sz]);
  const hit = cache.get(key);
  if (hit && hit.claims.exp - clock.now() / 1000 >= ttl * (1 - REUSE_FRACTION)) return hit;
  const issued = await signDownloadToken(keyRing, clock, grant, opts);
  cache.set(key, issued, Math.floor(ttl * REUSE_FRACTION * 1000));
  return issued;
}
