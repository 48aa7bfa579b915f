/**
 * @module crypto-ops
 * The two cryptographic operations on the hot path, behind a port: SHA-256 of a bearer or download token
 * (cache keys; never the token itself) and the Ed25519 signature of a download token. The portable version
 * uses Web Crypto, which on Node pays a thread-pool hop and a promise per call (about a third of a signing
 * request's CPU under load); the Node runtime supplies synchronous node:crypto versions of the same
 * operations. Both produce identical bytes.
 */
import { sha256Hex } from './ids.ts';

export interface CryptoOps {
  sha256Hex(text: string): Promise<string>;
  /** The Ed25519 signature of `data` under `privateKey`. */
  signEd25519(privateKey: CryptoKey, data: Uint8Array): Promise<Uint8Array>;
}

export const webCryptoOps: CryptoOps = {
  sha256Hex,
  async signEd25519(privateKey, data) {
    return new Uint8Array(await crypto.subtle.sign('Ed25519', privateKey, data as Uint8Array<ArrayBuffer>));
  },
};

/** base64url without padding (RFC 4648 §5), as JWS uses. */
export function base64url(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
