/**
 * @module fs-walk
 * The fs store's listing walk: collects the objects under one directory of the root whose keys start with a
 * prefix, descending only where keys can still match. Kept apart from the store so the store file holds the
 * object operations and this one the directory traversal.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectMeta } from '../../core/storage/object-store.ts';
import { errno, storageError } from './fs-meta.ts';

export interface WalkRoot {
  root: string;
  /** Top-level directory names that are the store's own (temp files, ETag sidecars), never keys. */
  skip: readonly string[];
  /** The object's metadata, or null when it is not an object (e.g. gone). */
  metaAt(key: string, path: string): Promise<ObjectMeta | null>;
}

/**
 * Pushes onto `out` the objects under `dirKey` whose keys start with `prefix`. With `rollUp` (delimiter `/`), a
 * directory wholly inside the prefix becomes one stand-in entry instead of a walk: the paginator rolls every
 * key below it into the same prefix anyway, so its files need no stat (nor ETag).
 */
export async function walkKeys(w: WalkRoot, dirKey: string, prefix: string, out: ObjectMeta[], rollUp = false): Promise<void> {
  const dir = dirKey === '' ? w.root : join(w.root, ...dirKey.split('/'));
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return;
    throw storageError(err, 'List');
  }
  for (const ent of entries) {
    const key = dirKey === '' ? ent.name : `${dirKey}/${ent.name}`;
    if (dirKey === '' && w.skip.includes(ent.name)) continue;
    if (ent.isDirectory()) {
      // Descend only where keys under this directory can still start with the prefix.
      const dirPrefix = `${key}/`;
      if (rollUp && dirPrefix.startsWith(prefix)) {
        // A stand-in key below the directory ('x' ends no prefix, so it can never list as an object).
        if (await holdsFile(join(dir, ent.name))) out.push({ key: `${dirPrefix}x`, size: 0, etag: '""', lastModified: 0 });
      } else if (dirPrefix.startsWith(prefix) || prefix.startsWith(dirPrefix)) await walkKeys(w, key, prefix, out, rollUp);
    } else if (ent.isFile() && key.startsWith(prefix)) {
      try {
        const meta = await w.metaAt(key, join(dir, ent.name));
        if (meta) out.push(meta);
      } catch (err) {
        if (errno(err) !== 'ENOENT') throw storageError(err, 'List');
      }
    }
  }
}

/** Whether a directory holds a file at any depth (directories left empty by a crash hold no key). */
async function holdsFile(dir: string): Promise<boolean> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return false;
    throw storageError(err, 'List');
  }
  if (entries.some((e) => e.isFile())) return true;
  for (const e of entries) if (e.isDirectory() && (await holdsFile(join(dir, e.name)))) return true;
  return false;
}
