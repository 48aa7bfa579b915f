/**
 * @module kek
 * The key-encryption key (KEK) that protects signing keys at rest, on web APIs only.
 *
 * The KEK is 32 random bytes, given as base64 or base64url (`REGATE_KEY_ENCRYPTION_KEY`, a Worker secret; on
 * Node the embedded default keeps a generated one in `<dataDir>/keys/kek`). It is imported as a non-extractable
 * AES-256-GCM key. A private JWK is sealed as `v1.<iv>.<ciphertext>` (base64url; a random 96-bit IV per seal;
 * the ciphertext ends with GCM's 128-bit tag) with its kid as additional authenticated data, so a sealed key
 * moved to another row does not open.
 */
import { base64url } from 'jose';

/** The environment variable (or Worker secret) holding the KEK. */
export const KEK_ENV = 'REGATE_KEY_ENCRYPTION_KEY';

export const KEK_BYTES = 32;
const SEAL_VERSION = 'v1';
const IV_BYTES = 12;
const AES_GCM = 'AES-GCM';
const B64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** Decodes a KEK given as base64 or base64url (padding optional); exactly 32 bytes. @example parseKek(env.REGATE_KEY_ENCRYPTION_KEY) */
export function parseKek(text: string, source: string = KEK_ENV): Uint8Array {
  const t = text.trim();
  let bytes: Uint8Array | undefined;
  if (B64.test(t)) {
    try {
      bytes = base64url.decode(t.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'));
    } catch {
      bytes = undefined;
    }
  }
  if (!bytes) throw new TypeError(`${source} is not base64 or base64url.`);
  if (bytes.byteLength !== KEK_BYTES) {
    throw new TypeError(`${source} must hold exactly ${KEK_BYTES} bytes (it holds ${bytes.byteLength}); make one with: openssl rand -base64 32`);
  }
  return bytes;
}

/** 32 fresh random bytes as base64url, the form regate writes. */
export function generateKekText(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(KEK_BYTES)));
}

/** Imports KEK bytes as a non-extractable AES-256-GCM key. */
export async function importKek(bytes: Uint8Array): Promise<CryptoKey> {
  if (bytes.byteLength !== KEK_BYTES) throw new TypeError(`A key-encryption key is ${KEK_BYTES} bytes.`);
  return crypto.subtle.importKey('raw', bytes as Uint8Array<ArrayBuffer>, { name: AES_GCM }, false, ['encrypt', 'decrypt']);
}

/** A random KEK that exists only in this process (an in-memory database). */
export async function ephemeralKek(): Promise<CryptoKey> {
  return crypto.subtle.generateKey({ name: AES_GCM, length: 256 }, false, ['encrypt', 'decrypt']);
}

/** The KEK from the environment, or undefined when the variable is unset or empty. */
export async function kekFromEnv(env: Record<string, string | undefined>): Promise<CryptoKey | undefined> {
  const v = env[KEK_ENV];
  if (v === undefined || v.trim() === '') return undefined;
  return importKek(parseKek(v));
}

const utf8 = new TextEncoder();

/** Seals a private JWK for the row of `kid`. @example const enc = await sealPrivateJwk(kek, kid, jwk) */
export async function sealPrivateJwk(kek: CryptoKey, kid: string, jwk: JsonWebKey): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ct = await crypto.subtle.encrypt({ name: AES_GCM, iv, additionalData: utf8.encode(kid) }, kek, utf8.encode(JSON.stringify(jwk)));
  return `${SEAL_VERSION}.${base64url.encode(iv)}.${base64url.encode(new Uint8Array(ct))}`;
}

/**
 * Why a sealed key did not open. `wrong_kek` is the only one a valid row can give (GCM's tag does not verify:
 * another KEK sealed it, or the ciphertext was altered in place); the others mean the row itself is damaged.
 */
export type SealProblem = 'format' | 'truncated' | 'wrong_kek' | 'content';

/** Thrown when a sealed key does not open; `problem` says which way. */
export class KeyDecryptionError extends Error {
  override name = 'KeyDecryptionError';
  readonly problem: SealProblem;
  constructor(problem: SealProblem, message: string) {
    super(message);
    this.problem = problem;
  }
}

/**
 * The shortest sealed Ed25519 private JWK: GCM's tag plus `{"kty","crv","x","d"}` with 43-character x and d
 * (what generateStoredKey makes; a legacy key may carry more members, never fewer).
 */
const MIN_SEALED_BYTES = 16 + JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: 'x'.repeat(43), d: 'd'.repeat(43) }).length;
const B64URL = /^[A-Za-z0-9_-]*$/;

/** Opens a sealed private JWK of `kid`; throws KeyDecryptionError when it does not open. */
export async function openPrivateJwk(kek: CryptoKey, kid: string, sealed: string): Promise<JsonWebKey> {
  const parts = sealed.split('.');
  while (parts[0] === SEAL_VERSION && parts.length < 3) parts.push(''); // cut short inside the IV
  if (parts.length !== 3 || parts[0] !== SEAL_VERSION || !B64URL.test(parts[1]!) || !B64URL.test(parts[2]!)) {
    throw new KeyDecryptionError('format', `Signing key ${kid}: its private part is not in the ${SEAL_VERSION} sealed format.`);
  }
  let iv: Uint8Array;
  let ct: Uint8Array;
  try {
    iv = base64url.decode(parts[1]!);
    ct = base64url.decode(parts[2]!);
  } catch {
    // Only a length that base64url cannot have (4n + 1 characters) gets here: cut short.
    iv = new Uint8Array(0);
    ct = new Uint8Array(0);
  }
  if (iv.byteLength !== IV_BYTES || ct.byteLength < MIN_SEALED_BYTES) {
    throw new KeyDecryptionError(
      'truncated',
      `Signing key ${kid}: its private part is truncated (${sealed.length} characters; a sealed key has at least ` +
        `${3 + 16 + 1 + Math.ceil((MIN_SEALED_BYTES * 4) / 3)}).`,
    );
  }
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt({ name: AES_GCM, iv: iv as Uint8Array<ArrayBuffer>, additionalData: utf8.encode(kid) }, kek, ct as Uint8Array<ArrayBuffer>);
  } catch {
    throw new KeyDecryptionError(
      'wrong_kek',
      `Signing key ${kid} in the database does not decrypt with the configured key-encryption key (${KEK_ENV}, or ` +
        `<dataDir>/keys/kek on Node): it was sealed with another one, or the row was altered.`,
    );
  }
  try {
    return JSON.parse(new TextDecoder().decode(plain)) as JsonWebKey;
  } catch {
    throw new KeyDecryptionError('content', `Signing key ${kid}: its decrypted private part is not a JWK.`);
  }
}
