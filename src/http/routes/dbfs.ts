/**
 * @module dbfs-routes
 * The DBFS surface regate keeps, and the one it refuses.
 * Kept: raw `POST /dbfs/databricks/mlflow/tmp-external-source/...` (how `mlflow.register_model` uploads a
 * model before registering it) and reading one's own uploads back; `GET /api/2.0/dbfs/{get-status,list,read}`
 * on one's uploads and on a model version's managed files for principals with CAN_READ on its model (reads at
 * most 1 MiB, base64, as the DBFS API does).
 * `POST /api/2.0/dbfs/delete` of one's own uploads (to free one's quota, or the disk). Raw uploads are held to
 * the upload limits (core/artifacts/uploads.ts).
 * Refused, before any storage is touched: raw `/dbfs/databricks/mlflow-registry/...` (dbutils / %fs-style
 * access to MLflow-managed files), listing the managed root, and every write to the managed prefix through
 * any DBFS API; 403 with a message naming the supported way in.
 */
import { GatewayError, Refusal, denied, invalid } from '../../core/errors.ts';
import { parseDbfsPath, MANAGED_PREFIX, UPLOAD_PREFIX, type DbfsTarget } from '../../core/artifacts/dbfs-path.ts';
import { SUPPORTED_WAY } from '../../core/artifacts/artifact-path.ts';
import { deleteUploads, putUpload, uploadAt, uploadsUnder } from '../../core/artifacts/uploads.ts';
import { artifactAt, directChildren, listDirectory } from '../../core/artifacts/managed.ts';
import { noSuchPath, readableVersionByStorage } from '../../core/artifacts/storage-access.ts';
import { readAll, toBase64 } from '../../core/artifacts/bytes.ts';
import type { ObjectStore } from '../../core/storage/object-store.ts';
import type { Ctx, Route } from '../env.ts';
import { params } from '../params.ts';
import { declaredLength } from '../body-limit.ts';
import { rawPath } from '../middleware/path-guard.ts';
import { decodeRequestComponent } from '../../core/percent-decoding.ts';
import { storageErrorResponse } from './storage-errors.ts';

/** DBFS API limits: reads of at most 1 MB, 0.5 MB by default. */
const MAX_READ = 1024 * 1024;
const DEFAULT_READ = 512 * 1024;

interface FileInfo {
  path: string;
  is_dir: boolean;
  file_size: number;
  modification_time: number;
}

function store(c: Ctx): ObjectStore {
  const s = c.var.deps.objectStore;
  if (!s) throw new GatewayError('NOT_IMPLEMENTED', 'This regate has no artifact storage configured.');
  return s;
}

/** Refused, and recorded as `raw_path_refused` by the app's error handler. */
async function refuseManaged(_c: Ctx, path: string, what: string): Promise<never> {
  throw new Refusal('PERMISSION_DENIED', `${what} of MLflow-managed locations (${MANAGED_PREFIX}/...) is not supported. ${SUPPORTED_WAY}`, {
    action: 'raw_path_refused',
    path,
    detail: what,
  });
}

/** A path's entries: null when it does not exist for this caller; a file gives itself. */
async function resolve(c: Ctx, t: DbfsTarget): Promise<{ file: FileInfo | null; children: FileInfo[] | null } | null> {
  const { db, acl } = c.var.deps;
  const me = c.var.principal;
  if (t.area === 'upload' || t.area === 'upload_root') {
    const dir = t.area === 'upload' ? t.path : '/databricks/mlflow/tmp-external-source';
    const file = t.area === 'upload' ? await uploadAt(db, me.id, t.path) : null;
    if (file) return { file: { path: file.path, is_dir: false, file_size: file.size, modification_time: file.created_at }, children: null };
    const under = await uploadsUnder(db, me.id, dir);
    if (under.length === 0) return null;
    const rel = under.map((u) => ({ path: u.path.slice(dir.length + 1), size: u.size, at: u.created_at }));
    const at = new Map(rel.map((r) => [r.path, r.at]));
    const children = directChildren(rel, '').map((e) => ({
      path: `${dir}/${e.path}`,
      is_dir: e.isDir,
      file_size: e.size ?? 0,
      modification_time: e.isDir ? 0 : at.get(e.path)!,
    }));
    return { file: null, children };
  }
  if (t.area !== 'managed') return null;
  const readable = await readableVersionByStorage(c.var.deps, me, t.storageId);
  if (!readable) return null;
  const base = `${MANAGED_PREFIX}/${t.storageId}`;
  const dir = (p: string): FileInfo => ({ path: `${base}/${p}`, is_dir: true, file_size: 0, modification_time: readable.version.created_at });
  const modelDir = readable.version.model_dir;
  if (t.rest === '') return { file: null, children: [dir('models')] };
  if (t.rest === 'models') return { file: null, children: [dir(`models/${modelDir}`)] };
  const prefix = `models/${modelDir}`;
  if (t.rest !== prefix && !t.rest.startsWith(`${prefix}/`)) return null;
  const rel = t.rest === prefix ? '' : t.rest.slice(prefix.length + 1);
  const toInfo = (path: string, isDir: boolean, size: number, at: number): FileInfo => ({
    path: `${base}/${prefix}/${path}`,
    is_dir: isDir,
    file_size: size,
    modification_time: at,
  });
  // One statement: the file `rel` names, or the entries of that one directory (not the files below it).
  const listing = await listDirectory(db, t.storageId, rel);
  if (listing.file) return { file: toInfo(listing.file.path, false, listing.file.size ?? 0, listing.file.lastModified ?? 0), children: null };
  if (listing.entries.length === 0 && rel !== '') return null;
  const children = listing.entries.map((e) => toInfo(e.path, e.isDir, e.size ?? 0, e.lastModified ?? readable.version.created_at));
  return { file: null, children };
}

/** The object key behind a file the caller may read; null if there is none; 'hidden' if it may not read the version. */
async function readableKey(c: Ctx, t: DbfsTarget): Promise<{ key: string; size: number } | 'hidden' | null> {
  const { db, acl } = c.var.deps;
  if (t.area === 'upload') {
    const u = await uploadAt(db, c.var.principal.id, t.path);
    return u ? { key: u.object_key, size: u.size } : null;
  }
  if (t.area !== 'managed') return null;
  const readable = await readableVersionByStorage(c.var.deps, c.var.principal, t.storageId);
  if (!readable) return 'hidden';
  const prefix = `models/${readable.version.model_dir}/`;
  if (!t.rest.startsWith(prefix)) return null;
  const a = await artifactAt(db, t.storageId, t.rest.slice(prefix.length));
  return a ? { key: a.object_key, size: a.size } : null;
}

function target(raw: string): DbfsTarget {
  if (raw === '') throw invalid("Missing value for required parameter 'path'.");
  return parseDbfsPath(raw);
}

const writeRefusal = (name: string): Route => ({
  method: 'POST',
  path: `/api/2.0/dbfs/${name}`,
  handler: async (c) => {
    const p = await params(c);
    for (const key of ['path', 'source_path', 'destination_path']) {
      const v = p.str(key, { optional: true, max: 4096 });
      if (v !== undefined && /^(dbfs:)?\/+databricks\/+mlflow-registry(\/|$)/i.test(v)) await refuseManaged(c, v, `Writing (${name})`);
    }
    throw invalid(`regate's DBFS accepts files only as raw POST /dbfs/databricks/mlflow/tmp-external-source/<id>/<path> uploads; /api/2.0/dbfs/${name} is not supported.`);
  },
});

export const routes: Route[] = [
  {
    method: 'POST',
    path: '/dbfs/*',
    handler: async (c) => {
      const dbfsPath = decodeRequestComponent(rawPath(c.req.url).slice('/dbfs'.length), 'DBFS path');
      if (/^\/+databricks\/+mlflow-registry(\/|$)/i.test(dbfsPath)) await refuseManaged(c, dbfsPath, 'Writing');
      const t = target(dbfsPath);
      if (t.area !== 'upload') {
        throw invalid(`regate accepts uploads only under /databricks/mlflow/tmp-external-source/<id>/, not ${t.area === 'other' ? t.path : dbfsPath}.`);
      }
      const body = c.req.raw.body ?? new ReadableStream<Uint8Array>({ start: (ctl) => ctl.close() });
      const { db, clock, config } = c.var.deps;
      try {
        await putUpload({ db, clock, objectStore: store(c) }, c.var.principal.id, t.path, body, {
          limits: { maxFileBytes: config.maxUploadFileBytes, quotaBytes: config.uploadQuotaBytes },
          declaredLength: declaredLength(c.req.raw),
          signal: c.req.raw.signal,
        });
      } catch (e) {
        return storageErrorResponse(c, e);
      }
      return c.json({});
    },
  },
  {
    method: 'GET',
    path: '/dbfs/*',
    handler: async (c) => {
      const dbfsPath = decodeRequestComponent(rawPath(c.req.url).slice('/dbfs'.length), 'DBFS path');
      if (/^\/+databricks\/+mlflow-registry(\/|$)/i.test(dbfsPath)) await refuseManaged(c, dbfsPath, 'Reading through /dbfs/');
      const t = target(dbfsPath);
      const file = t.area === 'upload' ? await readableKey(c, t) : null;
      if (!file || file === 'hidden') throw noSuchPath(dbfsPath);
      try {
        const got = await store(c).get(file.key, { signal: c.req.raw.signal });
        return new Response(got.body, { headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(got.length), 'Cache-Control': 'private, no-store' } });
      } catch (e) {
        return storageErrorResponse(c, e);
      }
    },
  },
  {
    method: 'GET',
    path: '/api/2.0/dbfs/get-status',
    handler: async (c) => {
      const raw = (await params(c)).str('path', { max: 4096 });
      const t = target(raw);
      if (t.area === 'managed_root') await refuseManaged(c, raw, 'Inspecting the root');
      const r = await resolve(c, t);
      if (!r) throw noSuchPath(raw);
      if (r.file) return c.json(r.file);
      const path = t.area === 'managed' ? `${MANAGED_PREFIX}/${t.storageId}${t.rest ? `/${t.rest}` : ''}` : t.area === 'upload' ? t.path : raw;
      return c.json({ path, is_dir: true, file_size: 0, modification_time: Math.max(0, ...r.children!.map((f) => f.modification_time)) });
    },
  },
  {
    method: 'GET',
    path: '/api/2.0/dbfs/list',
    handler: async (c) => {
      const raw = (await params(c)).str('path', { max: 4096 });
      const t = target(raw);
      if (t.area === 'managed_root') await refuseManaged(c, raw, 'Listing the root');
      const r = await resolve(c, t);
      if (!r) throw noSuchPath(raw);
      const files = r.file ? [r.file] : r.children!;
      // The DBFS API leaves `files` out for an empty directory.
      return c.json(files.length > 0 ? { files } : {});
    },
  },
  {
    method: 'GET',
    path: '/api/2.0/dbfs/read',
    handler: async (c) => {
      const p = await params(c);
      const raw = p.str('path', { max: 4096 });
      const offset = p.int('offset', { fallback: 0 })!;
      const length = p.int('length', { fallback: DEFAULT_READ })!;
      if (offset < 0 || length < 0) throw invalid('offset and length must not be negative.');
      if (length > MAX_READ) throw new GatewayError('MAX_READ_SIZE_EXCEEDED', `Cannot read more than ${MAX_READ} bytes at once (asked for ${length}).`);
      const t = target(raw);
      if (t.area === 'managed_root') await refuseManaged(c, raw, 'Reading the root');
      const file = await readableKey(c, t);
      if (file === 'hidden') throw noSuchPath(raw);
      if (!file) {
        const r = await resolve(c, t);
        if (r) throw invalid(`The path ${raw} is a directory.`);
        throw noSuchPath(raw);
      }
      if (offset >= file.size || length === 0) return c.json({ bytes_read: 0, data: '' });
      try {
        const got = await store(c).get(file.key, { range: { start: offset, end: Math.min(file.size, offset + length) - 1 } });
        const bytes = await readAll(got.body, MAX_READ);
        return c.json({ bytes_read: bytes.byteLength, data: toBase64(bytes) });
      } catch (e) {
        return storageErrorResponse(c, e);
      }
    },
  },
  {
    // Deleting one's own uploads (a file, or a directory with `recursive`), so a principal can free its quota
    // and the disk; the managed prefix stays refused, anything else is not there.
    method: 'POST',
    path: '/api/2.0/dbfs/delete',
    handler: async (c) => {
      const p = await params(c);
      const raw = p.str('path', { max: 4096 });
      const recursive = p.bool('recursive', false);
      if (/^(dbfs:)?\/+databricks\/+mlflow-registry(\/|$)/i.test(raw)) await refuseManaged(c, raw, 'Deleting (delete)');
      const t = target(raw);
      if (t.area !== 'upload' && t.area !== 'upload_root') {
        throw invalid(`regate's DBFS deletes only one's own uploads under /databricks/mlflow/tmp-external-source/; not ${raw}.`);
      }
      const path = t.area === 'upload' ? t.path : UPLOAD_PREFIX;
      try {
        const n = await deleteUploads({ db: c.var.deps.db, clock: c.var.deps.clock, objectStore: store(c) }, c.var.principal.id, path, recursive);
        if (n === 'directory') throw invalid(`The path ${raw} is a non-empty directory; pass recursive=true to delete it.`);
      } catch (e) {
        return storageErrorResponse(c, e);
      }
      return c.json({});
    },
  },
  ...['put', 'create', 'add-block', 'close', 'mkdirs', 'move'].map(writeRefusal),
];
