/**
 * @module tree-guard
 * The key-tree rule (`a` and `a/b` never both exist) for stores without directories (S3, R2), which must check
 * it before each write, and the write preludes built on it. Shared so the S3 and R2 stores ask the same
 * questions in the same order and refuse with the same error; a store supplies only its two probes.
 * Two writers racing on `a` and `a/b` can both pass the check: keys under one model version have one writer.
 */
import { assertKey, parentKeys, StorageError, type ObjectMeta } from './object-store.ts';

/** What a store without directories answers to check the key tree. */
export interface TreeProbe {
  /** The object at `key`, or null. */
  head(key: string): Promise<ObjectMeta | null>;
  /** Whether any object has a key starting with `prefix` (a one-key list). */
  anyUnder(prefix: string): Promise<boolean>;
}

/** Refuses a key that is a directory of an object, or has an object as one of its directories. */
async function assertTreeFree(key: string, probe: TreeProbe): Promise<void> {
  const [under, ...parents] = await Promise.all([probe.anyUnder(`${key}/`), ...parentKeys(key).map((p) => probe.head(p))]);
  if (under || parents.some((m) => m !== null)) {
    throw new StorageError('conflict', `${key} and another object would be a file and a directory.`);
  }
}

/** Checks a put's key and tree before reading its body, so a refused name costs no upload; a refusal cancels the body. */
export async function checkBeforePut(key: string, body: ReadableStream<Uint8Array>, probe: TreeProbe): Promise<void> {
  try {
    assertKey(key);
    await assertTreeFree(key, probe);
  } catch (err) {
    await body.cancel(err).catch(() => {});
    throw err;
  }
}

/**
 * A copy's checks: both keys, the source's metadata (`not_found` without it), and the destination's tree.
 * `same` when the keys are equal: the copy is done (the same bytes), nothing is written and the tree is not asked.
 */
export async function checkBeforeCopy(srcKey: string, dstKey: string, probe: TreeProbe): Promise<{ src: ObjectMeta; same: boolean }> {
  assertKey(srcKey);
  assertKey(dstKey);
  const src = await probe.head(srcKey);
  if (!src) throw new StorageError('not_found', `No object ${srcKey}.`);
  if (srcKey === dstKey) return { src, same: true };
  await assertTreeFree(dstKey, probe);
  return { src, same: false };
}
