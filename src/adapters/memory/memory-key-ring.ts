/**
 * @module memory-key-ring
 * A key ring that lives in memory: for tests, and for runtimes that get their keys from bindings.
 */
import type { Clock } from '../../core/ports.ts';
import { systemClock } from '../../core/clock.ts';
import {
  generateStoredKey,
  importStoredKey,
  KeySet,
  type SharedKeyRing,
  type SigningKey,
  type StoredKey,
} from '../../core/artifacts/key-ring.ts';

/** @example const ring = await createMemoryKeyRing({ keys: [fixtureKey] }) */
export async function createMemoryKeyRing(opts: { clock?: Clock; keys?: StoredKey[] } = {}): Promise<SharedKeyRing> {
  const clock = opts.clock ?? systemClock;
  const stored = opts.keys?.length ? opts.keys : [await generateStoredKey(clock.now())];
  const set = new KeySet(await Promise.all(stored.map(importStoredKey)));
  return {
    current: (): SigningKey => set.current(),
    publicKey: (kid) => set.publicKey(kid),
    kids: () => set.kids(),
    async rotate() {
      const key = await importStoredKey(await generateStoredKey(clock.now()));
      set.add(key);
      return key.kid;
    },
    async remove(kid) {
      set.remove(kid);
    },
    // Private to this process: nothing to reload.
    async refresh() {},
  };
}
