/**
 * @module range
 * The `Range` request header (RFC 9110 §14.1–14.2) reduced to one decision: serve everything, serve one range,
 * or answer 416. Policies P1–P9 of docs range-and-signing §1.3:
 * - at most one range is ever served; overlapping and adjacent ranges merge, several disjoint ones give the
 *   full body (never multipart: S3 cannot serve it, and it is the CVE-2011-3192 surface);
 * - a syntactically invalid `bytes=` set, more than 16 specs, or a header over 1 KiB is unsatisfiable (416);
 * - another unit, a missing `=`, an empty set or an empty object means "ignore Range" (200);
 * - integers are ASCII digits only; more than 15 significant digits reads as "beyond any object", so no value
 *   ever goes through floating point (MS15-034; nothing renders as `1e+21`).
 */

export type RangeResult = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

export const MAX_RANGE_HEADER_LENGTH = 1024;
export const MAX_RANGE_SPECS = 16;

const FULL: RangeResult = { kind: 'full' };
const UNSATISFIABLE: RangeResult = { kind: 'unsatisfiable' };
const DIGITS = /^[0-9]+$/;
const OWS = /^[ \t]+|[ \t]+$/g;

/** Digits to a number; Infinity past 15 significant digits (beyond any object we can hold). */
function toInt(digits: string): number {
  let i = 0;
  while (i < digits.length - 1 && digits.charCodeAt(i) === 48) i++;
  const significant = digits.slice(i);
  return significant.length > 15 ? Infinity : Number(significant);
}

interface Span {
  start: number;
  end: number;
}

/** One range-spec: a span, `null` when it cannot overlap the object, or 'invalid' when it breaks the grammar. */
function parseSpec(spec: string, size: number): Span | null | 'invalid' {
  const dash = spec.indexOf('-');
  if (dash < 0 || spec.indexOf('-', dash + 1) >= 0) return 'invalid';
  const first = spec.slice(0, dash).replace(OWS, '');
  const last = spec.slice(dash + 1).replace(OWS, '');
  if (first === '') {
    // suffix-range: the last N bytes; N = 0 selects nothing (RFC 9110 §14.1.2).
    if (!DIGITS.test(last)) return 'invalid';
    const n = toInt(last);
    if (n === 0) return null;
    return { start: n >= size ? 0 : size - n, end: size - 1 };
  }
  if (!DIGITS.test(first) || (last !== '' && !DIGITS.test(last))) return 'invalid';
  const start = toInt(first);
  const end = last === '' ? Infinity : toInt(last);
  if (end < start) return 'invalid';
  if (start >= size) return null;
  return { start, end: Math.min(end, size - 1) };
}

/**
 * What to serve for a `Range` header on an object of `size` bytes.
 * Only call it for GET: Range on any other method must be ignored (RFC 9110 §14.2, P5).
 * @example parseRange('bytes=0-499', 1000) // { kind: 'partial', start: 0, end: 499 }
 * @example parseRange('bytes=-0', 1000)    // { kind: 'unsatisfiable' }
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`Invalid object size ${size}`);
  if (header === undefined || size === 0) return FULL;
  if (header.length > MAX_RANGE_HEADER_LENGTH) return UNSATISFIABLE;
  const eq = header.indexOf('=');
  if (eq < 0 || header.slice(0, eq).toLowerCase() !== 'bytes') return FULL;
  // RFC 9110 #rule: empty list elements (and whitespace around them) are allowed and carry nothing.
  const specs = header
    .slice(eq + 1)
    .split(',')
    .map((s) => s.replace(OWS, ''))
    .filter((s) => s !== '');
  if (specs.length === 0) return FULL;
  if (specs.length > MAX_RANGE_SPECS) return UNSATISFIABLE;
  const spans: Span[] = [];
  for (const spec of specs) {
    const span = parseSpec(spec, size);
    if (span === 'invalid') return UNSATISFIABLE;
    if (span) spans.push(span);
  }
  if (spans.length === 0) return UNSATISFIABLE;
  spans.sort((a, b) => a.start - b.start);
  const merged: Span[] = [{ ...spans[0]! }];
  for (const s of spans.slice(1)) {
    const top = merged[merged.length - 1]!;
    if (s.start <= top.end + 1) top.end = Math.max(top.end, s.end);
    else merged.push({ ...s });
  }
  if (merged.length > 1) return FULL;
  return { kind: 'partial', start: merged[0]!.start, end: merged[0]!.end };
}

/** `bytes a-b/N` for a 206. Integers only, so no exponent notation can appear. */
export function contentRange(start: number, end: number, size: number): string {
  return `bytes ${start}-${end}/${size}`;
}

/** `bytes *\/N` for a 416 (RFC 9110 §15.5.17). */
export function unsatisfiedRange(size: number): string {
  return `bytes */${size}`;
}
