/**
 * @module d1-like-limit
 * Makes a node:sqlite connection refuse LIKE and GLOB patterns longer than D1's limit, as D1 does
 * (SQLITE_LIMIT_LIKE_PATTERN_LENGTH is 50 bytes there, 50,000 in node:sqlite, and node:sqlite has no
 * setLimit). like() and glob() are replaced by functions that check the pattern's byte length and then ask
 * a second, untouched connection for SQLite's own answer, so the semantics stay SQLite's.
 */
import { DatabaseSync } from 'node:sqlite';

export const D1_LIKE_PATTERN_BYTES = 50;

/** How many patterns the limited connection matched and the longest one's bytes, to assert the limit was exercised. */
export function limitLikePatterns(db: DatabaseSync, maxBytes = D1_LIKE_PATTERN_BYTES): { count: number; longest: number } {
  const ref = new DatabaseSync(':memory:');
  const like = ref.prepare('SELECT ? LIKE ? AS x');
  const glob = ref.prepare('SELECT ? GLOB ? AS x');
  const seen = { count: 0, longest: 0 };
  const wrap = (stmt: typeof like) => (pattern: unknown, subject: unknown) => {
    if (typeof pattern === 'string') {
      const bytes = Buffer.byteLength(pattern);
      seen.count++;
      seen.longest = Math.max(seen.longest, bytes);
      if (bytes > maxBytes) throw new Error('LIKE or GLOB pattern too complex');
    }
    return (stmt.get(subject as string, pattern as string) as { x: number | null }).x;
  };
  db.function('like', { deterministic: true }, wrap(like));
  db.function('glob', { deterministic: true }, wrap(glob));
  return seen;
}
