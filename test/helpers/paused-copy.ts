/**
 * @module paused-copy
 * Holds an object store's copies on a gate the test controls, so a race with a copy in flight (a model
 * deleted while one of its versions is being copied into managed storage) is driven step by step, with no
 * sleeps: `entered` resolves when the `at`-th copy (0-based) has finished and the next is about to start;
 * that copy and every later one wait until `release()`.
 */
import type { ObjectMeta, ObjectStore } from '../../src/core/storage/object-store.ts';

export interface CopyGate {
  /** Resolves when the gated copy has been asked for (and is waiting). */
  entered: Promise<void>;
  release(): void;
  /** Copies started, gated or not. */
  readonly calls: number;
  /** Puts the store's own copy back. */
  restore(): void;
}

export function gateCopies(store: ObjectStore, at = 0): CopyGate {
  const original = store.copy;
  let calls = 0;
  let signalEntered!: () => void;
  const entered = new Promise<void>((r) => (signalEntered = r));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  store.copy = async (src: string, dst: string): Promise<ObjectMeta> => {
    const n = calls++;
    if (n >= at) {
      if (n === at) signalEntered();
      await released;
    }
    return original.call(store, src, dst);
  };
  return {
    entered,
    release,
    get calls() {
      return calls;
    },
    restore: () => {
      store.copy = original;
    },
  };
}
