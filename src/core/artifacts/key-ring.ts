/**
 * @module key-ring
 * Signing keys for download tokens: the KeyRing port, Ed25519 key generation and import (Web Crypto), and
 * `KeySet`, the rotation rules every key-ring adapter shares.
 *
 * Rotation: the verification set is {current, previous}. `rotate()` makes a new current key and keeps the old
 * one for verification until it is removed (explicitly, or by the next rotation), so tokens minted just before
 * a rotation still verify for their lifetime. Removing the previous key revokes every token it signed at once.
 * The current key cannot be removed: rotate first.
 */
import { calculateJwkThumbprint } from 'jose';

/** The only signing algorithm: Ed25519 by its fully-specified JOSE name (RFC 9864; "EdDSA" before it). */
export const SIGNING_ALG = 'Ed25519';

/** Key ids are RFC 7638 thumbprints (43 base64url characters); anything outside this shape is never looked up. */
export const KID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function isValidKid(kid: unknown): kid is string {
  return typeof kid === 'string' && KID_PATTERN.test(kid);
}

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
}

/** The port the signer and verifier use. Lookups are in memory only: no I/O per token. */
export interface KeyRing {
  current(): SigningKey;
  publicKey(kid: string): CryptoKey | undefined;
}

export interface RotatingKeyRing extends KeyRing {
  /** Makes a new current key; the old current stays verifiable as the previous key. Returns the new kid. */
  rotate(): Promise<string>;
  /** Drops a non-current key from the verification set (and from storage, for persistent rings). */
  remove(kid: string): Promise<void>;
  /** Kids in the verification set, current first. */
  kids(): string[];
}

/** A key as persisted: the private JWK plus its kid and creation time (ms). */
export interface StoredKey {
  kid: string;
  created: number;
  jwk: JsonWebKey;
}

export interface LoadedKey {
  kid: string;
  created: number;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

const ED25519 = { name: 'Ed25519' };

/** A fresh Ed25519 key, exported as a JWK with its thumbprint kid. @example await generateStoredKey(clock.now()) */
export async function generateStoredKey(created: number): Promise<StoredKey> {
  const pair = (await crypto.subtle.generateKey(ED25519, true, ['sign', 'verify'])) as CryptoKeyPair;
  const jwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
  const kid = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: jwk.x! }, 'sha256');
  return { kid, created, jwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x!, d: jwk.d! } };
}

/** Imports a stored key; checks that its kid is the thumbprint of its public part. */
export async function importStoredKey(k: StoredKey): Promise<LoadedKey> {
  const { jwk } = k;
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || typeof jwk.d !== 'string') {
    throw new TypeError('Signing key is not an Ed25519 private JWK.');
  }
  const kid = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }, 'sha256');
  if (kid !== k.kid) throw new TypeError(`Signing key ${k.kid} does not match its thumbprint.`);
  if (!Number.isSafeInteger(k.created)) throw new TypeError(`Signing key ${k.kid} has no valid creation time.`);
  // Extractable so that the Node runtime can hand it to node:crypto's synchronous signer (crypto-ops.ts):
  // KeyObject.from refuses non-extractable keys. The private JWK is in this process's memory either way.
  const privateKey = await crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, ED25519, true, ['sign']);
  const publicKey = await crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, ED25519, true, ['verify']);
  return { kid, created: k.created, privateKey, publicKey };
}

/** The in-memory verification set and its rotation rules (newest key is current; at most two keys). */
export class KeySet {
  #keys: LoadedKey[];
  /** Kids the constructor left out because more than two keys were given (oldest first out). */
  readonly dropped: string[];

  /** Keeps the two newest of `keys`. */
  constructor(keys: LoadedKey[]) {
    if (keys.length === 0) throw new TypeError('A key set needs at least one key.');
    this.#keys = [...keys].sort((a, b) => b.created - a.created || (a.kid < b.kid ? -1 : 1));
    this.dropped = this.#keys.splice(2).map((k) => k.kid);
  }

  current(): SigningKey {
    const k = this.#keys[0]!;
    return { kid: k.kid, privateKey: k.privateKey };
  }

  publicKey(kid: string): CryptoKey | undefined {
    return this.#keys.find((k) => k.kid === kid)?.publicKey;
  }

  kids(): string[] {
    return this.#keys.map((k) => k.kid);
  }

  /** Makes `key` current; returns the kids that fell out of {current, previous}. */
  add(key: LoadedKey): string[] {
    this.#keys.unshift(key);
    return this.#keys.splice(2).map((k) => k.kid);
  }

  remove(kid: string): boolean {
    if (this.#keys[0]!.kid === kid) throw new Error('The current signing key cannot be removed; rotate first.');
    const before = this.#keys.length;
    this.#keys = this.#keys.filter((k) => k.kid !== kid);
    return this.#keys.length !== before;
  }
}

/**
 * The ring as the app uses it: rotatable, and shared by every instance through the store. `refresh` is
 * called with the signing-key epoch every request reads; it reloads only when that epoch moved, so it costs
 * nothing otherwise. A ring private to one process (tests) refreshes as a no-op.
 */
export interface SharedKeyRing extends RotatingKeyRing {
  refresh(epoch: number): Promise<void>;
}
