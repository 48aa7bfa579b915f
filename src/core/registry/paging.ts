/**
 * @module paging
 * Page tokens for the search and list endpoints: base64url of `{"offset":N}`. Opaque to clients; parsed
 * strictly so a forged or truncated token is INVALID_PARAMETER_VALUE, never a 500 or a silent first page.
 */
import { invalid } from '../errors.ts';

const TOKEN = /^[A-Za-z0-9_-]{1,200}$/;

/** @example encodePageToken(100) // 'eyJvZmZzZXQiOjEwMH0' */
export function encodePageToken(offset: number): string {
  return btoa(JSON.stringify({ offset })).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The offset a token stands for; absent or empty token → 0. @example decodePageToken(encodePageToken(7)) // 7 */
export function decodePageToken(token: string | undefined): number {
  if (token === undefined || token === '') return 0;
  const bad = () => invalid(`Invalid page_token '${token.slice(0, 64)}'.`);
  if (!TOKEN.test(token) || token.length % 4 === 1) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(atob(token.replace(/-/g, '+').replace(/_/g, '/')));
  } catch {
    throw bad();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad();
  const keys = Object.keys(parsed);
  const offset = (parsed as { offset?: unknown }).offset;
  if (keys.length !== 1 || keys[0] !== 'offset' || typeof offset !== 'number') throw bad();
  if (!Number.isSafeInteger(offset) || offset < 0) throw bad();
  return offset;
}

export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

/** Cuts a result fetched with `LIMIT max + 1` into a page and the token for the next one. */
export function toPage<T>(rows: T[], offset: number, max: number): Page<T> {
  if (rows.length <= max) return { items: rows };
  return { items: rows.slice(0, max), nextPageToken: encodePageToken(offset + max) };
}
