/**
 * @module fs-meta
 * What the fs store derives from a file's bigint stat (ETag, ObjectMeta), and how Node fs errors map to the
 * object-store port's kinds. Shared by the store and its read path.
 */
import type { BigIntStats } from 'node:fs';
import { StorageError, type ObjectMeta } from '../../core/storage/object-store.ts';

export function etagOf(st: BigIntStats): string {
  return `"${st.ino.toString(16)}-${st.size.toString(16)}-${st.mtimeNs.toString(16)}"`;
}

export function metaOf(key: string, st: BigIntStats): ObjectMeta {
  return { key, size: Number(st.size), etag: etagOf(st), lastModified: Number(st.mtimeMs) };
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
  if (code === 'ENAMETOOLONG') return new StorageError('invalid', `${what}: name too long.`, { cause: err });
  if (code === 'EMFILE' || code === 'ENFILE' || code === 'EAGAIN' || code === 'ENOSPC' || code === 'EBUSY') {
    return new StorageError('unavailable', `${what}: ${code}.`, { cause: err, retryAfter: 1 });
  }
  return new StorageError('internal', `${what}: ${code ?? 'failed'}.`, { cause: err });
}
