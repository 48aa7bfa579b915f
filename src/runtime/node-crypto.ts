/**
 * @module node-crypto
 * The CryptoOps port on node:crypto: synchronous SHA-256 and Ed25519 signing, no thread-pool hop. Private
 * keys are turned into KeyObjects once per key (they are imported extractable for exactly this).
 */
import { createHash, KeyObject, sign } from 'node:crypto';
import type { CryptoOps } from '../core/crypto-ops.ts';

const keyObjects = new WeakMap<CryptoKey, KeyObject>();

export const nodeCryptoOps: CryptoOps = {
  async sha256Hex(text) {
    return createHash('sha256').update(text).digest('hex');
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
