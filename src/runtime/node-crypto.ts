/**
 * @module node-crypto
 * The CryptoOps port on node:crypto: synchronous SHA-256 and Ed25519 signing, no thread-pool hop. Private
 * keys are turned into KeyObjects once per key (they are imported extractable for exactly this).
 */
import { hash, KeyObject, sign } from 'node:crypto';
import type { CryptoOps } from '../core/crypto-ops.ts';

const keyObjects = new WeakMap<CryptoKey, KeyObject>();

export const nodeCryptoOps: CryptoOps = {
  async sha256Hex(text) {
    // The one-shot form: no Hash object per call (a bearer token is hashed on every request).
    return hash('sha256', text, 'hex');
  },
  async signEd25519(privateKey, data) {
    let k = keyObjects.get(privateKey);
    if (!k) {
      k = KeyObject.from(privateKey);
      keyObjects.set(privateKey, k);
    }
    return sign(null, data, k);
  },
};
