/**
 * @module uploads
 * The upload area `/databricks/mlflow/tmp-external-source/...`, where `mlflow.register_model` puts a model's
 * files (raw `POST /dbfs/...`) before it creates the version. Each principal has its own: the same DBFS path
 * names a different place for each caller, so one principal can neither see, overwrite nor register another's
 * files; to anyone else a path simply does not exist. Uploads that are never registered expire after
 * UPLOAD_TTL_MS. Nothing here is ever served as a model's artifact until copied into managed storage.
 *
 * Limits, so one principal cannot fill the disk: a file is at most `maxFileBytes` (413 MAX_BLOCK_SIZE_EXCEEDED),
 * and a principal's files together at most `quotaBytes` (507 QUOTA_EXCEEDED). Both are enforced while the body
 * streams: a declared Content-Length over either is refused before a byte is read, and the body is cut off the
 * moment it passes the smaller of the two; the store then keeps nothing of it (a replaced file stays as it
 * was). The quota counts the principal's recorded uploads other than the one being replaced (so a replacement
 * counts by its difference) plus its other uploads still streaming in this process.
 */
import type { Clock, SqlDb } from '../ports.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { GatewayError } from '../errors.ts';
import { DEFAULT_MAX_UPLOAD_FILE_BYTES, DEFAULT_UPLOAD_QUOTA_BYTES } from '../config.ts';
import { UPLOAD_PREFIX } from './dbfs-path.ts';
import { limitStream } from './limited-stream.ts';

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

export interface UploadLimits {
  /** Largest single file, bytes. */
  maxFileBytes: number;
  /** Bytes one principal may hold in the upload area, bytes. */
  quotaBytes: number;
}

export interface PutUploadOptions {
  /** Default: the documented defaults (5 GiB per file, 20 GiB per principal). */
  limits?: UploadLimits;
  /** The request's Content-Length, when it sent one: checked before reading (the count still applies). */
  declaredLength?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** Bytes of uploads streaming right now, per database and principal (the rows are written only at the end). */
const streaming = new WeakMap<SqlDb, Map<string, number>>();

function inFlight(db: SqlDb): Map<string, number> {
  let m = streaming.get(db);
  if (!m) streaming.set(db, (m = new Map()));
  return m;
}

const fileTooLarge = (max: number) => new GatewayError('MAX_BLOCK_SIZE_EXCEEDED', `The file is larger than the upload limit of ${max} bytes.`);
const overQuota = (quota: number) =>
  new GatewayError('QUOTA_EXCEEDED', `The upload area's quota of ${quota} bytes per principal would be exceeded; delete uploads (POST /api/2.0/dbfs/delete) or register them first.`);

/** Bytes the principal holds in the upload area, leaving out `exceptPath` (the file a put replaces). */
export async function uploadBytes(db: SqlDb, principalId: string, exceptPath?: string): Promise<number> {
  const row = await db
    .prepare('SELECT COALESCE(SUM(size), 0) AS n FROM uploads WHERE principal_id = ?1 AND (?2 IS NULL OR path <> ?2)')
    .bind(principalId, exceptPath ?? null)
    .first<{ n: number }>();
  return Number(row?.n ?? 0);
}

/**
 * Streams one uploaded file into the store within the limits (module doc), then records it. An interrupted or
 * refused body leaves nothing.
 */
export async function putUpload(deps: UploadDeps, principalId: string, dbfsPath: string, body: ReadableStream<Uint8Array>, opts: PutUploadOptions = {}): Promise<UploadRow> {
  const { declaredLength } = opts;
  const limits = opts.limits ?? { maxFileBytes: DEFAULT_MAX_UPLOAD_FILE_BYTES, quotaBytes: DEFAULT_UPLOAD_QUOTA_BYTES };
  const refuse = async (e: GatewayError): Promise<never> => {
    await body.cancel().catch(() => {});
    throw e;
  };
  if (declaredLength !== undefined && declaredLength > limits.maxFileBytes) return refuse(fileTooLarge(limits.maxFileBytes));
  await expireUploads(deps);
  const live = inFlight(deps.db);
  const room = limits.quotaBytes - (await uploadBytes(deps.db, principalId, dbfsPath)) - (live.get(principalId) ?? 0);
  if (declaredLength !== undefined && declaredLength > room) return refuse(overQuota(limits.quotaBytes));
  const max = Math.max(0, Math.min(limits.maxFileBytes, room));
  let counted = 0;
  const limited = limitStream(body, max, (n) => {
    counted += n;
    live.set(principalId, (live.get(principalId) ?? 0) + n);
  });
  const key = uploadKey(principalId, dbfsPath);
  let meta;
  try {
    meta = await deps.objectStore.put(key, limited.stream, opts.signal ? { signal: opts.signal } : {});
  } catch (e) {
    if (limited.exceeded()) throw max < limits.maxFileBytes ? overQuota(limits.quotaBytes) : fileTooLarge(limits.maxFileBytes);
    throw e;
  } finally {
    const left = (live.get(principalId) ?? 0) - counted;
    if (left > 0) live.set(principalId, left);
    else live.delete(principalId);
  }
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

/**
 * Deletes the principal's upload at `path`, or (when `recursive`) every one below it; objects first, so the
 * space is freed even when the database cannot commit (then the rows name nothing and expire later). Returns
 * how many were deleted; 'directory' when `path` has uploads below it and `recursive` is false.
 */
export async function deleteUploads(deps: UploadDeps, principalId: string, path: string, recursive: boolean): Promise<number | 'directory'> {
  const file = await uploadAt(deps.db, principalId, path);
  const under = await uploadsUnder(deps.db, principalId, path);
  if (under.length > 0 && !recursive) return 'directory';
  const rows = file ? [file, ...under] : under;
  for (const u of rows) await deps.objectStore.delete(u.object_key);
  if (rows.length === 0) return 0;
  await deps.db
    .prepare('DELETE FROM uploads WHERE principal_id = ?1 AND (path = ?2 OR substr(path, 1, length(?2) + 1) = ?2 || \'/\')')
    .bind(principalId, path)
    .run();
  return rows.length;
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
