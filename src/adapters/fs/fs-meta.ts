/**
 * @module fs-meta
 * What the fs store derives from a file's bigint stat (ObjectMeta), and how Node fs errors map to the
 * object-store port's kinds. Shared by the store and its read path.
 */
import type { BigIntStats } from 'node:fs';
import { StorageError, type ObjectMeta } from '../../core/storage/object-store.ts';

/** The metadata of `key` from its file's stat and its content ETag (fs-etags.ts). */
export function metaOf(key: string, st: BigIntStats, etag: string): ObjectMeta {
  return { key, size: Number(st.size), etag, lastModified: Number(st.mtimeMs) };
}

export function errno(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

/** Maps a Node fs error to the port's kinds. */
export function storageError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err;
  const code = errno(err);
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ELOOP') {
    return new StorageError('not_found', `${what}: no such object.`, { cause: err });
  }
  if (code === 'ENAMETOOLONG') return new StorageError('name_too_long', `${what}: name too long.`, { cause: err });
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StorageError('full', `${what}: ${code}.`, { cause: err });
  if (code === 'EMFILE' || code === 'ENFILE' || code === 'EAGAIN' || code === 'EBUSY') {
    return new StorageError('unavailable', `${what}: ${code}.`, { cause: err, retryAfter: 1 });
  }
  return new StorageError('internal', `${what}: ${code ?? 'failed'}.`, { cause: err });
}

/**
 * Maps an error of making a key's directories or renaming onto it: an ancestor that is a file (EEXIST or
 * ENOTDIR from mkdir, ENOTDIR from rename) or a target that is a directory (EISDIR, ENOTEMPTY) breaks the key
 * tree, so the write is a `conflict`, whatever the order the two keys arrived in.
 */
export function placeError(err: unknown, what: string): StorageError {
  const code = errno(err);
  if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ENOTEMPTY') {
    return new StorageError('conflict', `${what}: a file and a directory would share a name.`, { cause: err });
  }
  return storageError(err, what);
}
