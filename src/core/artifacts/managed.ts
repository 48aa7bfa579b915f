/**
 * @module managed
 * Managed storage: each model version's files under `registry/<storage id>/models/<model dir>/`, indexed in
 * the `artifacts` table so listings report exact sizes without touching storage. Files arrive only by copy
 * (from the caller's upload area, or from another version the caller may read) when a version is created.
 */
import type { SqlDb, SqlStatement } from '../ports.ts';
import type { ObjectMeta, ObjectStore } from '../storage/object-store.ts';

export interface ArtifactRow {
  storage_id: string;
  path: string;
  object_key: string;
  size: number;
  etag: string;
  last_modified: number;
}

export function managedKey(storageId: string, modelDir: string, rel: string): string {
  return `registry/${storageId}/models/${modelDir}/${rel}`;
}

export async function artifactAt(db: SqlDb, storageId: string, path: string): Promise<ArtifactRow | null> {
  return db.prepare('SELECT * FROM artifacts WHERE storage_id = ? AND path = ?').bind(storageId, path).first<ArtifactRow>();
}

/** Every file of the version strictly below `dir` ('' for all). */
export async function artifactsUnder(db: SqlDb, storageId: string, dir: string): Promise<ArtifactRow[]> {
  if (dir === '') return db.prepare('SELECT * FROM artifacts WHERE storage_id = ? ORDER BY path').bind(storageId).all<ArtifactRow>();
  return db
    .prepare('SELECT * FROM artifacts WHERE storage_id = ?1 AND substr(path, 1, length(?2)) = ?2 ORDER BY path')
    .bind(storageId, `${dir}/`)
    .all<ArtifactRow>();
}

export interface DirEntry {
  /** Path relative to the version root. */
  path: string;
  isDir: boolean;
  size: number | null;
}

/** The direct children of `dir` among `files` (paths relative to the version root), directories first. */
export function directChildren(files: ReadonlyArray<{ path: string; size: number }>, dir: string): DirEntry[] {
  const base = dir === '' ? '' : `${dir}/`;
  const dirs = new Set<string>();
  const out: DirEntry[] = [];
  for (const f of files) {
    if (!f.path.startsWith(base)) continue;
    const rest = f.path.slice(base.length);
    const slash = rest.indexOf('/');
    if (slash < 0) out.push({ path: f.path, isDir: false, size: f.size });
    else dirs.add(base + rest.slice(0, slash));
  }
  return [...[...dirs].sort().map((path) => ({ path, isDir: true, size: null })), ...out.sort((a, b) => (a.path < b.path ? -1 : 1))];
}

export interface CopySource {
  /** Object key to copy from. */
  key: string;
  /** Path below the new version's model dir. */
  rel: string;
}

/**
 * Copies files into a version's managed area and returns the index rows to insert (in the batch that makes
 * the version READY). On any failure the objects already copied are deleted and the error is rethrown, so a
 * failed registration leaves no files behind.
 */
export async function copyIntoVersion(store: ObjectStore, storageId: string, modelDir: string, sources: CopySource[]): Promise<ArtifactRow[]> {
  const done: ArtifactRow[] = [];
  try {
    for (const s of sources) {
      const key = managedKey(storageId, modelDir, s.rel);
      const meta: ObjectMeta = await store.copy(s.key, key);
      done.push({ storage_id: storageId, path: s.rel, object_key: key, size: meta.size, etag: meta.etag, last_modified: meta.lastModified });
    }
  } catch (e) {
    for (const d of done) await store.delete(d.object_key).catch(() => undefined);
    throw e;
  }
  return done;
}

export function insertArtifactStatements(db: SqlDb, rows: ArtifactRow[]): SqlStatement[] {
  return rows.map((r) =>
    db
      .prepare('INSERT INTO artifacts (storage_id, path, object_key, size, etag, last_modified) VALUES (?, ?, ?, ?, ?, ?)')
      .bind(r.storage_id, r.path, r.object_key, r.size, r.etag, r.last_modified),
  );
}

/** Object keys of a model's files (or one version's), read before the rows that index them are deleted. */
export async function objectKeysOf(db: SqlDb, modelId: string, version?: number): Promise<string[]> {
  const rows = await db
    .prepare(
      `SELECT a.object_key FROM artifacts a JOIN model_versions v ON v.storage_id = a.storage_id
       WHERE v.model_id = ?1 AND (?2 IS NULL OR v.version = ?2)`,
    )
    .bind(modelId, version ?? null)
    .all<{ object_key: string }>();
  return rows.map((r) => r.object_key);
}

/**
 * Deletes objects after their rows are gone. Best effort: a failure leaves an orphan object that nothing
 * indexes or serves, never a row pointing at nothing.
 */
export async function purgeObjects(store: ObjectStore | undefined, keys: string[]): Promise<void> {
  if (!store) return;
  for (const k of keys) await store.delete(k).catch(() => undefined);
}
