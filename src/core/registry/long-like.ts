/**
 * @module long-like
 * LIKE / GLOB conditions whose SQL never carries a pattern longer than 50 bytes, for any pattern length.
 * D1 refuses LIKE and GLOB patterns over 50 bytes (SQLITE_LIMIT_LIKE_PATTERN_LENGTH; node:sqlite allows
 * 50,000), and MLflow accepts long search patterns, so a longer pattern is matched by an exactly equivalent
 * condition built from short ones:
 *
 * A pattern is `s0 % s1 % … % sn`, where every segment si has a fixed length in characters (`_` is one
 * character). A value matches iff s0 matches its start, sn its end, and s1 … s(n-1) match, in order and
 * without overlap, in between. Each segment is checked at a position as `substr(value, pos + off, len)`
 * matched against pieces of the segment of at most 50 bytes. The middle segments are placed leftmost-first
 * (a recursive CTE enumerates positions): any placement can be slid left onto the leftmost one, so that
 * greedy placement succeeds whenever any does. All pieces travel in one JSON bind (D1 allows 100 bound
 * parameters per statement), read back with json_extract, which returns each as a ≤ 50-byte text value.
 */
import type { SqlValue } from '../ports.ts';

/** D1's SQLITE_LIMIT_LIKE_PATTERN_LENGTH, in bytes of UTF-8. */
const MAX_LIKE_PATTERN_BYTES = 50;

const utf8 = new TextEncoder();
const byteLength = (s: string): number => utf8.encode(s).length;

interface Piece {
  /** Offset of the piece in its segment, in characters. */
  off: number;
  len: number;
  /** Index of the piece's pattern in the JSON bind. */
  index: number;
}

interface Segment {
  len: number;
  pieces: Piece[];
}

/**
 * `column LIKE pattern` (ILIKE: SQLite LIKE, ASCII case-insensitive) or `column GLOB toGlob(pattern)`
 * (MLflow's case-sensitive LIKE) with every pattern in the SQL at most 50 bytes. `pattern` is a LIKE
 * pattern (`%`, `_`, no escape); `toSql` turns a %-free piece of it into the pattern the operator takes.
 * @example likeCondition('m.name', 'ab%c', 'LIKE', (s) => s) // { sql: 'm.name LIKE ?', bind: 'ab%c' }
 */
export function likeCondition(column: string, pattern: string, op: 'LIKE' | 'GLOB', toSql: (likePattern: string) => string): { sql: string; bind: SqlValue } {
  const whole = toSql(pattern);
  if (byteLength(whole) <= MAX_LIKE_PATTERN_BYTES) return { sql: `${column} ${op} ?`, bind: whole };

  const patterns: string[] = [];
  const segment = (text: string): Segment => {
    const pieces: Piece[] = [];
    let off = 0;
    let current = '';
    let currentLen = 0;
    const flush = () => {
      if (currentLen === 0) return;
      pieces.push({ off: off - currentLen, len: currentLen, index: patterns.length });
      patterns.push(current);
      current = '';
      currentLen = 0;
    };
    for (const ch of text) {
      const next = toSql(ch);
      if (byteLength(current) + byteLength(next) > MAX_LIKE_PATTERN_BYTES) flush();
      current += next;
      currentLen++;
      off++;
    }
    flush();
    return { len: off, pieces };
  };

  const parts = pattern.split('%');
  const first = segment(parts[0]!);
  const value = column;
  const at = (s: Segment, pos: string): string[] =>
    s.pieces.map((p) => `substr(${value}, ${pos} + ${p.off}, ${p.len}) ${op} json_extract(lp.j, '$[${p.index}]')`);

  const conditions: string[] = [];
  let ctes = 'lp(j) AS (SELECT ?)';
  let from = 'lp';
  if (parts.length === 1) {
    conditions.push(`length(${value}) = ${first.len}`, ...at(first, '1'));
  } else {
    const last = segment(parts[parts.length - 1]!);
    const middle = parts.slice(1, -1).filter((s) => s !== '').map(segment);
    const minLength = first.len + last.len + middle.reduce((n, s) => n + s.len, 0);
    conditions.push(`length(${value}) >= ${minLength}`, ...at(first, '1'), ...at(last, `length(${value}) - ${last.len} + 1`));
    if (middle.length > 0) {
      // lpos: every character position; lmK.e: just past the leftmost placement of middle segment K
      // that starts at or after the end of segment K-1 (NULL when there is none, which fails the rest).
      ctes = `RECURSIVE ${ctes}, lpos(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM lpos WHERE i < length(${value}))`;
      let start = `${first.len + 1}`;
      let prev = '';
      middle.forEach((s, k) => {
        const name = `lm${k + 1}`;
        const where = [`lpos.i >= ${start}`, ...at(s, 'lpos.i')].join(' AND ');
        ctes += `, ${name}(e) AS (SELECT min(lpos.i) + ${s.len} FROM lpos, lp${prev} WHERE ${where})`;
        start = `${name}.e`;
        prev = `, ${name}`;
      });
      from += prev;
      conditions.push(`${start} <= length(${value}) - ${last.len} + 1`);
    }
  }
  return { sql: `EXISTS (WITH ${ctes} SELECT 1 FROM ${from} WHERE ${conditions.join(' AND ')})`, bind: JSON.stringify(patterns) };
}
