/**
 * @module manifest
 * A model version's whole file list in pages, for the manifest route (issue 11 §2): path, size, ETag and
 * SHA-256 of each file, in path order. One statement per page, an index range on the primary key
 * (storage_id, path) cut by its LIMIT, so a page costs what it returns however many files the version has.
 * Page tokens are keyset positions (the last path of the previous page), never offsets.
 */
import type { SqlDb } from '../ports.ts';
import { invalid } from '../errors.ts';
import { base64url } from '../crypto-ops.ts';

/** Entries per manifest page, at most and by default: 10,000 signed URIs is ≈ 7 MB of JSON. */
export const MANIFEST_PAGE_MAX = 10_000;

export interface ManifestFile {
  path: string;
  size: number;
  etag: string;
  sha256: string | null;
}

export interface ManifestPage {
  files: ManifestFile[];
  /** Present when more files follow. */
  nextPageToken?: string;
}

const PAGE_SQL = 'SELECT path, size, etag, sha256 FROM artifacts WHERE storage_id = ?1 AND path > ?2 ORDER BY path LIMIT ?3';

/** At most `pageSize` files of the version after path `after` ('' for the first page). */
export async function manifestPage(db: SqlDb, storageId: string, after: string, pageSize: number): Promise<ManifestPage> {
  const rows = await db.prepare(PAGE_SQL).bind(storageId, after, pageSize + 1).all<ManifestFile>();
  if (rows.length <= pageSize) return { files: rows };
  const files = rows.slice(0, pageSize);
  return { files, nextPageToken: encodeManifestToken(files[pageSize - 1]!.path) };
}

const utf8 = new TextEncoder();

/** base64url (unpadded) of the UTF-8 JSON `{"after":<path>}`. */
export function encodeManifestToken(after: string): string {
  return base64url(utf8.encode(JSON.stringify({ after })));
}

/** The path a page token stands for ('' when absent). Strict: anything `encodeManifestToken` did not make is a 400. */
export function decodeManifestToken(token: string | undefined): string {
  if (token === undefined || token === '') return '';
  const bad = () => invalid(`Invalid page_token '${token.slice(0, 64)}'.`);
  if (token.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(token) || token.length % 4 === 1) throw bad();
  let parsed: unknown;
  try {
    const bin = atob(token.replace(/-/g, '+').replace(/_/g, '/'));
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0))));
  } catch {
    throw bad();
  }
  const after = (parsed as { after?: unknown } | null)?.after;
  if (typeof after !== 'string' || after === '' || encodeManifestToken(after) !== token) throw bad();
  return after;
}
