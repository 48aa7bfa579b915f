/**
 * @module signed-url
 * Download tokens: compact JWS (jose 6, Web Crypto) that bind one principal to one artifact of one model
 * version, pinned to the object's ETag and size, for a few minutes (range-and-signing §2.2).
 *
 * Header `{alg: "Ed25519", typ: "mlflow-dl+jwt", kid}` and nothing else: a token carrying `jwk`, `jku`, `x5u`,
 * `x5c`, `crit` or any other member is refused before any key lookup, and keys come only from the local
 * KeyRing by a kid of bounded shape. Claims: iss = aud = `artifact-download@regate`, sub (principal id), iat,
 * nbf, exp, jti, m (`GET`), mid (model id, not name: names change), ver, p (canonical artifact path), et
 * (ETag), sz (size). Lifetime 300 s by default, never more than 900 s; 30 s clock tolerance; every time check
 * uses the injected Clock. Expiry is checked when a request starts: a download that began in time may finish
 * after `exp` (part of the revocation budget, as with CloudFront and S3).
 */
import { decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { base64url, webCryptoOps, type CryptoOps } from '../crypto-ops.ts';
import type { Clock } from '../ports.ts';
import { randomHex } from '../ids.ts';
import { isValidKid, SIGNING_ALG, type KeyRing } from './key-ring.ts';
import { artifactPathProblem } from './download-url.ts';

const utf8 = new TextEncoder();
const b64json = (v: unknown) => base64url(utf8.encode(JSON.stringify(v)));

export const DOWNLOAD_TOKEN_TYPE = 'mlflow-dl+jwt';
export const DOWNLOAD_AUDIENCE = 'artifact-download@regate';
export const DEFAULT_TTL_SECONDS = 300;
export const MAX_TTL_SECONDS = 900;
/**
 * regate both mints and verifies these tokens, so the tolerance only has to cover clock skew between its own
 * instances (NTP keeps that well under a second); 5 s keeps a short TTL meaningful, where the 30 s usual for
 * third-party issuers would outlive it.
 */
export const CLOCK_TOLERANCE_SECONDS = 5;
/** Far above a real token (~600 characters) and far below the 16 KB URL limit of Workers. */
export const MAX_TOKEN_LENGTH = 4096;

/** What a token grants: filled in by the minting endpoint after its permission check. */
export interface DownloadGrant {
  /** Principal id. */
  sub: string;
  /** Immutable model id. */
  mid: string;
  ver: string;
  /** Canonical relative artifact path. */
  p: string;
  /** Strong ETag (quoted form) of the object at mint time. */
  et: string;
  /** Object size in bytes at mint time. */
  sz: number;
}

export interface DownloadClaims extends DownloadGrant {
  iss: string;
  aud: string;
  iat: number;
  nbf: number;
  exp: number;
  jti: string;
  m: 'GET';
}

export type VerifyFailure =
  | 'malformed'
  | 'bad_header'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'bad_claims'
  | 'lifetime_too_long';

export type VerifyResult = { ok: true; claims: DownloadClaims } | { ok: false; reason: VerifyFailure };

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const ALLOWED_HEADER = new Set(['alg', 'typ', 'kid']);
const MID = /^[A-Za-z0-9._-]{1,128}$/;
const VER = /^[A-Za-z0-9._-]{1,64}$/;
const ETAG = /^"[\x21\x23-\x7e]{1,256}"$/;

/** Why a grant cannot be signed, or null. */
export function grantProblem(g: DownloadGrant): string | null {
  if (typeof g.sub !== 'string' || g.sub.length === 0 || g.sub.length > 256) return 'sub';
  if (typeof g.mid !== 'string' || !MID.test(g.mid)) return 'mid';
  if (typeof g.ver !== 'string' || !VER.test(g.ver)) return 'ver';
  if (typeof g.p !== 'string' || artifactPathProblem(g.p) !== null) return 'p';
  if (typeof g.et !== 'string' || !ETAG.test(g.et)) return 'et';
  if (typeof g.sz !== 'number' || !Number.isSafeInteger(g.sz) || g.sz < 0) return 'sz';
  return null;
}

/**
 * Signs a download token for `grant`, valid from now for `ttlSeconds` (default 300, at most 900).
 * @example const { token } = await signDownloadToken(ring, clock, { sub, mid, ver: '1', p: 'model/MLmodel', et, sz })
 */
export async function signDownloadToken(
  keyRing: KeyRing,
  clock: Clock,
  grant: DownloadGrant,
  opts: { ttlSeconds?: number; jti?: string; crypto?: CryptoOps } = {},
): Promise<{ token: string; claims: DownloadClaims }> {
  const ttl = opts.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) {
    throw new RangeError(`Download token lifetime must be 1-${MAX_TTL_SECONDS} s, got ${ttl}.`);
  }
  const problem = grantProblem(grant);
  if (problem) throw new TypeError(`Invalid download grant: ${problem}.`);
  const iat = Math.floor(clock.now() / 1000);
  const claims: DownloadClaims = {
    iss: DOWNLOAD_AUDIENCE,
    aud: DOWNLOAD_AUDIENCE,
    sub: grant.sub,
    iat,
    nbf: iat,
    exp: iat + ttl,
    jti: opts.jti ?? randomHex(16),
    m: 'GET',
    mid: grant.mid,
    ver: grant.ver,
    p: grant.p,
    et: grant.et,
    sz: grant.sz,
  };
  const { kid, privateKey } = keyRing.current();
  // The compact JWS (RFC 7515 §7.1) written out, byte for byte what jose's SignJWT makes, so that the signer
  // can be the runtime's (synchronous on Node); jose verifies it.
  const signingInput = `${b64json({ alg: SIGNING_ALG, typ: DOWNLOAD_TOKEN_TYPE, kid })}.${b64json(claims)}`;
  const signature = await (opts.crypto ?? webCryptoOps).signEd25519(privateKey, utf8.encode(signingInput));
  return { token: `${signingInput}.${base64url(signature)}`, claims };
}

function failure(reason: VerifyFailure): VerifyResult {
  return { ok: false, reason };
}

/** jose's error codes to our reasons; the wire message stays generic whatever the reason. */
function reasonFor(err: unknown): VerifyFailure {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (err instanceof errors.JWTClaimValidationFailed) {
    const timing = (err.claim === 'nbf' || err.claim === 'iat') && err.reason === 'check_failed';
    return timing ? 'not_yet_valid' : 'bad_claims';
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return 'bad_header';
  return 'malformed';
}

/**
 * Verifies a download token (range-and-signing §2.2, step 1–2). Never throws; never does I/O beyond the
 * in-memory key lookup. The caller still has to check the URL and the method against the claims.
 * @example const r = await verifyDownloadToken(token, ring, clock); if (!r.ok) return unauthorized()
 */
export async function verifyDownloadToken(
  token: string,
  keyRing: KeyRing,
  clock: Clock,
  opts: { maxTtlSeconds?: number } = {},
): Promise<VerifyResult> {
  const maxTtl = Math.min(opts.maxTtlSeconds ?? MAX_TTL_SECONDS, MAX_TTL_SECONDS);
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) return failure('malformed');
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    return failure('malformed');
  }
  // Refuse anything beyond {alg, typ, kid}: no embedded or remote keys (jwk/jku/x5u/x5c), no crit extensions.
  if (Object.keys(header).some((k) => !ALLOWED_HEADER.has(k))) return failure('bad_header');
  if (header.alg !== SIGNING_ALG || header.typ !== DOWNLOAD_TOKEN_TYPE || !isValidKid(header.kid)) return failure('bad_header');
  const key = keyRing.publicKey(header.kid);
  if (!key) return failure('unknown_key');
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [SIGNING_ALG],
      issuer: DOWNLOAD_AUDIENCE,
      audience: DOWNLOAD_AUDIENCE,
      typ: DOWNLOAD_TOKEN_TYPE,
      requiredClaims: ['exp', 'iat', 'nbf', 'sub', 'jti'],
      maxTokenAge: maxTtl,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: new Date(clock.now()),
    }));
  } catch (err) {
    return failure(reasonFor(err));
  }
  const c = payload as unknown as DownloadClaims;
  if (c.aud !== DOWNLOAD_AUDIENCE || c.m !== 'GET' || typeof c.jti !== 'string' || c.jti.length === 0 || c.jti.length > 64) {
    return failure('bad_claims');
  }
  if (![c.iat, c.nbf, c.exp].every(Number.isSafeInteger) || grantProblem(c) !== null) return failure('bad_claims');
  if (c.exp <= c.iat || c.nbf < c.iat || c.nbf >= c.exp) return failure('bad_claims');
  if (c.exp - c.iat > maxTtl) return failure('lifetime_too_long');
  return {
    ok: true,
    claims: {
      iss: c.iss,
      aud: c.aud,
      sub: c.sub,
      iat: c.iat,
      nbf: c.nbf,
      exp: c.exp,
      jti: c.jti,
      m: c.m,
      mid: c.mid,
      ver: c.ver,
      p: c.p,
      et: c.et,
      sz: c.sz,
    },
  };
}
