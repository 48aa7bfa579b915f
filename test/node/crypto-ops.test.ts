/**
 * The Node CryptoOps (synchronous node:crypto) and the portable one (Web Crypto) are the same functions:
 * identical hashes and identical Ed25519 signatures (the scheme is deterministic), which jose then verifies.
 */
import { describe, expect, it } from 'vitest';
import { webCryptoOps } from '../../src/core/crypto-ops.ts';
import { nodeCryptoOps } from '../../src/runtime/node-crypto.ts';
import { generateStoredKey, importStoredKey } from '../../src/core/artifacts/key-ring.ts';
import { manualClock } from '../../src/core/clock.ts';
import { signDownloadToken, verifyDownloadToken } from '../../src/core/artifacts/signed-url.ts';
import { createMemoryKeyRing } from '../../src/adapters/memory/memory-key-ring.ts';

describe('CryptoOps on Node and on Web Crypto', () => {
  it('hash the same', async () => {
    for (const text of ['', 'dapi0123', 'ü€😀'.repeat(50)]) {
      expect(await nodeCryptoOps.sha256Hex(text)).toBe(await webCryptoOps.sha256Hex(text));
    }
  });

  it('sign the same bytes, and the token verifies', async () => {
    const key = await importStoredKey(await generateStoredKey(0));
    const data = new TextEncoder().encode('header.payload');
    const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    expect(hex(await nodeCryptoOps.signEd25519(key.privateKey, data))).toBe(hex(await webCryptoOps.signEd25519(key.privateKey, data)));
    const clock = manualClock(Date.UTC(2026, 10, 30));
    const ring = await createMemoryKeyRing({ clock });
    const grant = { sub: '1', mid: 'abc', ver: '1', p: 'MLmodel', et: '"e"', sz: 1 };
    const a = await signDownloadToken(ring, clock, grant, { jti: 'j', crypto: nodeCryptoOps });
    const b = await signDownloadToken(ring, clock, grant, { jti: 'j', crypto: webCryptoOps });
    expect(a.token).toBe(b.token);
    expect((await verifyDownloadToken(a.token, ring, clock)).ok).toBe(true);
  });
});
