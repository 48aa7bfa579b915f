/**
 * @module verified-tokens
 * A cache of download tokens that passed `verifyDownloadToken`, so that the many requests one signed URI
 * serves (parallel ranges, retries) pay for one signature check, not one each (a Web Crypto verify costs
 * ~0.4 ms; a cache hit ~2 µs). Keyed by the token's SHA-256, never the token. An entry is used only while:
 * - the key that signed it is still in the ring (removing a key revokes its tokens at once), and
 * - the token's own time window holds on the injected clock (expiry is re-checked on every use, with the
 *   same tolerance as the verifier).
 * Everything else a token binds (principal, model, version, path, ETag, size) is in the claims, which are
 * immutable once verified.
 */
import type { Cache } from '../cache.ts';
import type { Clock } from '../ports.ts';
import { sha256Hex } from '../ids.ts';
import type { KeyRing } from './key-ring.ts';
import { CLOCK_TOLERANCE_SECONDS, MAX_TOKEN_LENGTH, verifyDownloadToken, type DownloadClaims, type VerifyResult } from './signed-url.ts';

export interface VerifiedToken {
  kid: string;
  claims: DownloadClaims;
}

/** The kid of a compact JWS, read from its header without trusting it (the verifier checks it properly). */
function kidOf(token: string): string | undefined {
  try {
    const header = JSON.parse(atob(token.slice(0, token.indexOf('.')).replace(/-/g, '+').replace(/_/g, '/'))) as { kid?: unknown };
    return typeof header.kid === 'string' ? header.kid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Verifies a download token, from the cache when this exact token verified before.
 * @example const r = await verifyCached(cache, token, ring, clock, { maxTtlSeconds: 300 })
 */
export async function verifyCached(
  cache: Cache<VerifiedToken>,
  token: string,
  keyRing: KeyRing,
  clock: Clock,
  opts: { maxTtlSeconds?: number; hash?: (text: string) => Promise<string> } = {},
): Promise<VerifyResult> {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
  const hash = await (opts.hash ?? sha256Hex)(token);
  const hit = cache.get(hash);
  if (hit) {
    // The verifier's own rules (jose): whole seconds, expired once exp <= now - tolerance.
    const nowS = Math.floor(clock.now() / 1000);
    if (!keyRing.publicKey(hit.kid)) {
      cache.delete(hash);
      return { ok: false, reason: 'unknown_key' };
    }
    if (hit.claims.exp <= nowS - CLOCK_TOLERANCE_SECONDS) return { ok: false, reason: 'expired' };
    if (hit.claims.nbf > nowS + CLOCK_TOLERANCE_SECONDS) return { ok: false, reason: 'not_yet_valid' };
    return { ok: true, claims: hit.claims };
  }
  const r = await verifyDownloadToken(token, keyRing, clock, opts.maxTtlSeconds === undefined ? {} : { maxTtlSeconds: opts.maxTtlSeconds });
  const kid = r.ok ? kidOf(token) : undefined;
  if (r.ok && kid !== undefined) {
    // Keep it until it expires (plus the tolerance), at most the longest lifetime a token can have.
    const ttlMs = (r.claims.exp + CLOCK_TOLERANCE_SECONDS) * 1000 - clock.now();
    if (ttlMs > 0) cache.set(hash, { kid, claims: r.claims }, ttlMs);
  }
  return r;
}
