/**
 * @module managed
 * Managed storage: each model version's files under `registry/<storage id>/models/<model dir>/`, indexed in
 * the `artifacts` table so listings report exact sizes without touching storage. Files arrive only by copy
 * (from the caller's upload area, or from another version the caller may read) when a version is created.
 *
 * Listings read one directory a page at a time (`listDirectory`): `artifacts.dir` (generated: the parent of
 * `path`) and `artifact_dirs` (every directory holding a file, with its parent) are indexed by
 * (storage_id, parent, path), so a page costs what it returns whatever the version's file count
 * (migrations/0004_artifact_listing.sql). MLflow lists a file's parent directory before downloading each file,
 * so a whole-version read per page made a download quadratic in the file count.
 */
import type { SqlDb, SqlStatement } from '../ports.ts';
import type { ObjectMeta, ObjectStore } from '../storage/object-store.ts';
import { invalid } from '../errors.ts';
import { copyWithDigest } from './digest-copy.ts';

export interface ArtifactRow {
  storage_id: string;
  path: string;
  object_key: string;
  size: number;
  etag: string;
  last_modified: number;
  /** SHA-256 of the bytes (lowercase hex), computed during the copy in (digest-copy.ts); null on rows older than it. */
  sha256?: string | null;
}

export function managedKey(storageId: string, modelDir: string, rel: string): string {
  return `registry/${storageId}/models/${modelDir}/${rel}`;
}

export async function artifactAt(db: SqlDb, storageId: string, path: string): Promise<ArtifactRow | null> {
  return db.prepare('SELECT * FROM artifacts WHERE storage_id = ? AND path = ?').bind(storageId, path).first<ArtifactRow>();
}

/** Every file of the version strictly below `dir` ('' for all): for reading a whole tree (copying a version), never for a listing. */
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

/** An entry of a directory listing: a file or a directory, with its path relative to the version root. */
export interface ListedEntry extends DirEntry {
  /** A file's last modification (ms); null for a directory. */
  lastModified: number | null;
  /** A file's SHA-256 (hex) when the index has it; null for a directory or an older file. */
  sha256?: string | null;
}

/** Where a listing page starts: after this entry (directories come before files, each group by path). */
export interface ListPosition {
  isDir: boolean;
  path: string;
}

export interface DirListing {
  /** Set when `dir` names a file rather than a directory: that file (`entries` is then empty). */
  file: ListedEntry | null;
  /** Directories first, then files, each by path in UTF-8 byte order (SQLite's BINARY collation). */
  entries: ListedEntry[];
}

/**
 * One statement: the file named `dir` if there is one, then `dir`'s subdirectories, then its files, after
 * `?3` (next directory) / `?4` (next file) and at most `?5` rows. Each branch is an index range on
 * (storage_id, parent, path) cut by its own LIMIT, so the sort on top sees at most 2 × ?5 + 1 rows, however
 * many files the version has. A NULL `?3` (the position is already among the files) skips the directories.
 */
const LIST_SQL = `SELECT kind, path, size, last_modified, sha256 FROM (
    SELECT 0 AS kind, path, size, last_modified, sha256 FROM artifacts WHERE storage_id = ?1 AND path = ?2
    UNION ALL
    SELECT * FROM (SELECT 1, path, NULL, NULL, NULL FROM artifact_dirs
      WHERE storage_id = ?1 AND parent = ?2 AND path > ?3 ORDER BY path LIMIT ?5)
    UNION ALL
    SELECT * FROM (SELECT 2, path, size, last_modified, sha256 FROM artifacts
      WHERE storage_id = ?1 AND dir = ?2 AND path > ?4 ORDER BY path LIMIT ?5)
  ) ORDER BY kind, path LIMIT ?5`;

interface ListRow {
  kind: 0 | 1 | 2;
  path: string;
  size: number | null;
  last_modified: number | null;
  sha256: string | null;
}

/**
 * The entries of directory `dir` ('' for the version root) after `after`, at most `limit` of them (all when
 * absent); or, when `dir` names a file, that file alone. A directory that holds no file lists as empty.
 * @example await listDirectory(db, storageId, 'data', { limit: 1001 })
 */
export async function listDirectory(
  db: SqlDb,
  storageId: string,
  dir: string,
  opts: { after?: ListPosition | null; limit?: number } = {},
): Promise<DirListing> {
  const after = opts.after ?? null;
  const dirsAfter = after === null ? '' : after.isDir ? after.path : null;
  const filesAfter = after === null || after.isDir ? '' : after.path;
  // SQLite reads a negative LIMIT as no limit.
  const limit = opts.limit ?? -1;
  const rows = await db.prepare(LIST_SQL).bind(storageId, dir, dirsAfter, filesAfter, limit).all<ListRow>();
  const entry = (r: ListRow): ListedEntry =>
    r.kind === 1 ? { path: r.path, isDir: true, size: null, lastModified: null } : { path: r.path, isDir: false, size: r.size, lastModified: r.last_modified, sha256: r.sha256 };
  if (rows[0]?.kind === 0) return { file: entry(rows[0]), entries: [] };
  return { file: null, entries: rows.map(entry) };
}

export interface ListPage extends DirListing {
  /** Present when more entries follow: the opaque token of the next page. */
  nextPageToken?: string;
}

/**
 * One page of `dir`: at most `pageSize` entries after `after` (from `decodeListToken`), and the token of the
 * next page when there is one. Reads at most `pageSize + 1` entries.
 */
export async function listPage(db: SqlDb, storageId: string, dir: string, after: ListPosition | null, pageSize: number): Promise<ListPage> {
  const listing = await listDirectory(db, storageId, dir, { after, limit: pageSize + 1 });
  if (listing.entries.length <= pageSize) return listing;
  const entries = listing.entries.slice(0, pageSize);
  const last = entries[pageSize - 1]!;
  return { file: null, entries, nextPageToken: encodeListToken({ isDir: last.isDir, path: last.path }) };
}

/** Longest token `encodeListToken` makes for a path of at most 1024 UTF-8 bytes (JSON escapes, base64). */
export const MAX_LIST_TOKEN = 4096;

/**
 * Page tokens of directory listings: base64url (unpadded) of the UTF-8 JSON `{"after":<path>,"dir":<bool>}`,
 * the last entry of the previous page. Keyset, not offset, so a page never re-reads the ones before it.
 * @example encodeListToken({ isDir: false, path: 'data/a.bin' }) // 'eyJhZnRlciI6ImRhdGEvYS5iaW4iLCJkaXIiOmZhbHNlfQ'
 */
export function encodeListToken(pos: ListPosition): string {
  const bytes = new TextEncoder().encode(JSON.stringify({ after: pos.path, dir: pos.isDir }));
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * The position a token of a listing of `dir` stands for; absent or empty token → null (the first page).
 * Strict: anything `encodeListToken` would not have made for an entry directly in `dir` is a 400
 * INVALID_PARAMETER_VALUE, never a 500 or a silent first page.
 */
export function decodeListToken(token: string | undefined, dir: string): ListPosition | null {
  if (token === undefined || token === '') return null;
  const bad = () => invalid(`Invalid page_token '${token.slice(0, 64)}'.`);
  if (token.length > MAX_LIST_TOKEN || !/^[A-Za-z0-9_-]+$/.test(token) || token.length % 4 === 1) throw bad();
  let parsed: unknown;
  try {
    const bin = atob(token.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw bad();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad();
  const { after, dir: isDir } = parsed as { after?: unknown; dir?: unknown };
  if (typeof after !== 'string' || typeof isDir !== 'boolean') throw bad();
  const pos: ListPosition = { isDir, path: after };
  // Canonical form only (key order, escapes, base64 bits), and only an entry directly in `dir`.
  if (encodeListToken(pos) !== token) throw bad();
  const base = dir === '' ? '' : `${dir}/`;
  const name = after.slice(base.length);
  if (!after.startsWith(base) || name === '' || name.includes('/')) throw bad();
  return pos;
}

export interface CopySource {
  /** Object key to copy from. */
  key: string;
  /** Path below the new version's model dir. */
  rel: string;
  /** The source's indexed ETag and SHA-256, when known: a known digest is reused, never recomputed. */
  etag?: string;
  sha256?: string | null;
}

/**
 * Copies files into a version's managed area, each with its SHA-256 taken during the copy (digest-copy.ts),
 * and returns the index rows to insert (in the batch that makes
 * the version READY). On any failure the objects already copied are deleted and the error is rethrown, so a
 * failed registration leaves no files behind.
 */
export async function copyIntoVersion(store: ObjectStore, storageId: string, modelDir: string, sources: CopySource[]): Promise<ArtifactRow[]> {
  const done: ArtifactRow[] = [];
  try {
    for (const s of sources) {
      const key = managedKey(storageId, modelDir, s.rel);
      const { meta, sha256 }: { meta: ObjectMeta; sha256: string } = await copyWithDigest(store, s, key);
      done.push({ storage_id: storageId, path: s.rel, object_key: key, size: meta.size, etag: meta.etag, last_modified: meta.lastModified, sha256 });
    }
  } catch (e) {
    for (const d of done) await store.delete(d.object_key).catch(() => undefined);
    throw e;
  }
  return done;
}

/** Rows per INSERT: 7 bound values each, under D1's 100 bound parameters per statement. */
const ROWS_PER_INSERT = 14;

/**
 * Every directory holding a file of version ?1, with all its ancestors, from the version's `artifacts` rows
 * (the statement migrations/0004_artifact_listing.sql backfills with). Reads the version's rows once.
 */
const INSERT_DIRS_SQL = `WITH RECURSIVE up (path) AS (
    SELECT DISTINCT dir FROM artifacts WHERE storage_id = ?1 AND dir <> ''
    UNION
    SELECT rtrim(rtrim(path, replace(path, '/', '')), '/') FROM up WHERE instr(path, '/') > 0
  )
  INSERT OR IGNORE INTO artifact_dirs (storage_id, parent, path)
  SELECT ?1, rtrim(rtrim(path, replace(path, '/', '')), '/'), path FROM up`;

/**
 * The statements that index `rows` (for the batch that makes their version READY): the `artifacts` rows,
 * several per INSERT, then, per version, its directories in `artifact_dirs`.
 */
export function insertArtifactStatements(db: SqlDb, rows: ArtifactRow[]): SqlStatement[] {
  const out: SqlStatement[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const chunk = rows.slice(i, i + ROWS_PER_INSERT);
    const values = chunk.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ');
    out.push(
      db
        .prepare(`INSERT INTO artifacts (storage_id, path, object_key, size, etag, last_modified, sha256) VALUES ${values}`)
        .bind(...chunk.flatMap((r) => [r.storage_id, r.path, r.object_key, r.size, r.etag, r.last_modified, r.sha256 ?? null])),
    );
  }
  for (const storageId of new Set(rows.map((r) => r.storage_id))) out.push(db.prepare(INSERT_DIRS_SQL).bind(storageId));
  return out;
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
