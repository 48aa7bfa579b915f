/**
 * @module uploads
 * The upload area `/databricks/mlflow/tmp-external-source/...`, where `mlflow.register_model` puts a model's
 * files (raw `POST /dbfs/...`) before it creates the version. Each principal has its own: the same DBFS path
 * names a different place for each caller, so one principal can neither see, overwrite nor register another's
 * files; to anyone else a path simply does not exist. Uploads that are never registered expire after
 * UPLOAD_TTL_MS. Nothing here is ever served as a model's artifact until copied into managed storage.
 */
import type { Clock, SqlDb } from '../ports.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { UPLOAD_PREFIX } from './dbfs-path.ts';

/** Unregistered uploads are deleted after a day. */
export const UPLOAD_TTL_MS = 24 * 3600 * 1000;

export interface UploadRow {
  principal_id: string;
  path: string;
  object_key: string;
  size: number;
  etag: string;
  created_at: number;
}

export interface UploadDeps {
  db: SqlDb;
  clock: Clock;
  objectStore: ObjectStore;
}

/** Object keys of the upload area: `uploads/<principal id>/<DBFS path below the area>`. */
export function uploadKey(principalId: string, dbfsPath: string): string {
  return `uploads/${principalId}/${dbfsPath.slice(UPLOAD_PREFIX.length + 1)}`;
}

/** Streams one uploaded file into the store, then records it. An interrupted body leaves nothing. */
export async function putUpload(deps: UploadDeps, principalId: string, dbfsPath: string, body: ReadableStream<Uint8Array>, signal?: AbortSignal): Promise<UploadRow> {
  await expireUploads(deps);
  const key = uploadKey(principalId, dbfsPath);
  const meta = await deps.objectStore.put(key, body, signal ? { signal } : {});
  const row: UploadRow = { principal_id: principalId, path: dbfsPath, object_key: key, size: meta.size, etag: meta.etag, created_at: deps.clock.now() };
  await deps.db
    .prepare(
      `INSERT INTO uploads (principal_id, path, object_key, size, etag, created_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (principal_id, path) DO UPDATE SET object_key = excluded.object_key, size = excluded.size,
         etag = excluded.etag, created_at = excluded.created_at`,
    )
    .bind(row.principal_id, row.path, row.object_key, row.size, row.etag, row.created_at)
    .run();
  return row;
}

export async function uploadAt(db: SqlDb, principalId: string, path: string): Promise<UploadRow | null> {
  return db.prepare('SELECT * FROM uploads WHERE principal_id = ? AND path = ?').bind(principalId, path).first<UploadRow>();
}

/** Every upload of the principal strictly below `dir`. */
export async function uploadsUnder(db: SqlDb, principalId: string, dir: string): Promise<UploadRow[]> {
  // substr rather than LIKE, so '%' and '_' in names are not wildcards.
  return db
    .prepare('SELECT * FROM uploads WHERE principal_id = ?1 AND substr(path, 1, length(?2)) = ?2 ORDER BY path')
    .bind(principalId, `${dir}/`)
    .all<UploadRow>();
}

/** Deletes uploads older than the TTL, objects first: a crash in between leaves rows that name nothing. */
export async function expireUploads(deps: UploadDeps): Promise<number> {
  const cutoff = deps.clock.now() - UPLOAD_TTL_MS;
  const old = await deps.db.prepare('SELECT * FROM uploads WHERE created_at < ? LIMIT 1000').bind(cutoff).all<UploadRow>();
  for (const u of old) await deps.objectStore.delete(u.object_key);
  if (old.length > 0) await deps.db.prepare('DELETE FROM uploads WHERE created_at < ?').bind(cutoff).run();
  return old.length;
}
