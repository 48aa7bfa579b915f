/**
 * @module conditional
 * Conditional requests (RFC 9110 §13): the preconditions in the order of §13.2.2 and the If-Range check of
 * §13.1.5, as pure functions over a header getter and the representation's validators.
 * If-Match and If-Range compare strongly (a weak tag never matches), If-None-Match weakly. Dates compare at
 * one-second resolution (HTTP-date has no more), and an unparsable date makes the header count as absent.
 */

export interface HeaderSource {
  get(name: string): string | null | undefined;
}

export interface Validators {
  /** Strong ETag in quoted form. */
  etag: string;
  /** Milliseconds since the epoch; undefined when unknown (date conditions are then not evaluated). */
  lastModified?: number;
}

export type PreconditionResult = 'proceed' | 'not_modified' | 'precondition_failed';

interface EntityTag {
  weak: boolean;
  /** The quoted opaque-tag, e.g. `"v1"`. */
  tag: string;
}

/** `*`, or the entity-tags of a list (RFC 9110 §8.8.3); malformed members are skipped. */
export function parseEtagList(value: string): '*' | EntityTag[] {
  if (value.trim() === '*') return '*';
  const out: EntityTag[] = [];
  let i = 0;
  while (i < value.length) {
    while (i < value.length && (value[i] === ' ' || value[i] === '\t' || value[i] === ',')) i++;
    if (i >= value.length) break;
    let weak = false;
    if (value.startsWith('W/', i)) {
      weak = true;
      i += 2;
    }
    if (value[i] !== '"') {
      // Not an entity-tag: skip to the next comma.
      while (i < value.length && value[i] !== ',') i++;
      continue;
    }
    const close = value.indexOf('"', i + 1);
    if (close < 0) break;
    const tag = value.slice(i, close + 1);
    // etagc = %x21 / %x23-7E / obs-text
    if (/^"[\x21\x23-\x7e\x80-\xff]*"$/.test(tag)) out.push({ weak, tag });
    i = close + 1;
  }
  return out;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const IMF = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850 = /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

/**
 * An HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, or the obsolete RFC 850 and asctime forms) in milliseconds,
 * or undefined. Strict on purpose: `Date.parse` accepts almost anything.
 * @example parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT') // 784111777000
 */
export function parseHttpDate(value: string): number | undefined {
  let parts: { d: string; mon: string; y: string; h: string; mi: string; s: string } | undefined;
  let m: RegExpExecArray | null;
  if ((m = IMF.exec(value))) parts = { d: m[1]!, mon: m[2]!, y: m[3]!, h: m[4]!, mi: m[5]!, s: m[6]! };
  else if ((m = RFC850.exec(value))) {
    // Two-digit years (RFC 9110 §5.6.7): read as the most recent matching year; 70–99 → 19xx.
    const yy = Number(m[3]);
    parts = { d: m[1]!, mon: m[2]!, y: String(yy + (yy >= 70 ? 1900 : 2000)), h: m[4]!, mi: m[5]!, s: m[6]! };
  } else if ((m = ASCTIME.exec(value))) parts = { mon: m[1]!, d: m[2]!, h: m[3]!, mi: m[4]!, s: m[5]!, y: m[6]! };
  if (!parts) return undefined;
  const month = MONTHS.indexOf(parts.mon);
  const day = Number(parts.d.trim());
  const [hour, min, sec] = [Number(parts.h), Number(parts.mi), Number(parts.s)];
  if (month < 0 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return undefined;
  const t = Date.UTC(Number(parts.y), month, day, hour, min, Math.min(sec, 59));
  // Reject dates like 31 Feb that Date.UTC would roll over.
  if (new Date(t).getUTCDate() !== day) return undefined;
  return t;
}

/** IMF-fixdate for a Last-Modified header. @example httpDate(0) // 'Thu, 01 Jan 1970 00:00:00 GMT' */
export function httpDate(ms: number): string {
  // A served file's date is asked for on every download start: formatting a Date costs more than the lookup.
  if (ms !== lastDateMs) {
    lastDate = new Date(ms).toUTCString();
    lastDateMs = ms;
  }
  return lastDate;
}
let lastDateMs = Number.NaN;
let lastDate = '';

const seconds = (ms: number) => Math.floor(ms / 1000);

function header(h: HeaderSource, name: string): string | undefined {
  const v = h.get(name);
  return v === null || v === undefined ? undefined : v;
}

/**
 * The outcome of the request's preconditions, evaluated in RFC 9110 §13.2.2 order:
 * If-Match, If-Unmodified-Since (only without If-Match), If-None-Match, If-Modified-Since (only without
 * If-None-Match, GET/HEAD only). If-Range is separate (`ifRangeMatches`), since it only decides about Range.
 * @example evaluatePreconditions(new Headers({ 'If-None-Match': '"v1"' }), { etag: '"v1"' }, 'GET') // 'not_modified'
 */
export function evaluatePreconditions(h: HeaderSource, v: Validators, method: string): PreconditionResult {
  const getOrHead = method === 'GET' || method === 'HEAD';
  const ifMatch = header(h, 'If-Match');
  if (ifMatch !== undefined) {
    const tags = parseEtagList(ifMatch);
    const ok = tags === '*' || tags.some((t) => !t.weak && !v.etag.startsWith('W/') && t.tag === v.etag);
    if (!ok) return 'precondition_failed';
  } else {
    const ius = header(h, 'If-Unmodified-Since');
    const date = ius === undefined ? undefined : parseHttpDate(ius.trim());
    if (date !== undefined && v.lastModified !== undefined && seconds(v.lastModified) > seconds(date)) {
      return 'precondition_failed';
    }
  }
  const ifNoneMatch = header(h, 'If-None-Match');
  if (ifNoneMatch !== undefined) {
    const tags = parseEtagList(ifNoneMatch);
    const opaque = v.etag.replace(/^W\//, '');
    const matched = tags === '*' || tags.some((t) => t.tag === opaque);
    if (matched) return getOrHead ? 'not_modified' : 'precondition_failed';
  } else if (getOrHead) {
    const ims = header(h, 'If-Modified-Since');
    const date = ims === undefined ? undefined : parseHttpDate(ims.trim());
    if (date !== undefined && v.lastModified !== undefined && seconds(v.lastModified) <= seconds(date)) {
      return 'not_modified';
    }
  }
  return 'proceed';
}

/**
 * Whether Range applies given If-Range (RFC 9110 §13.1.5): true without If-Range; with an entity-tag, only a
 * strong exact match; with a date, only a date exactly equal to Last-Modified; anything else is false
 * (the full representation is sent).
 * @example ifRangeMatches('"v1"', { etag: '"v1"' }) // true
 */
export function ifRangeMatches(ifRange: string | null | undefined, v: Validators): boolean {
  if (ifRange === undefined || ifRange === null) return true;
  const value = ifRange.trim();
  if (value.startsWith('W/')) return false;
  if (value.startsWith('"')) return !v.etag.startsWith('W/') && value === v.etag;
  const date = parseHttpDate(value);
  return date !== undefined && v.lastModified !== undefined && seconds(date) === seconds(v.lastModified);
}

/** Whether a date-based condition will be evaluated, i.e. whether Last-Modified must be known first. */
export function needsLastModified(h: HeaderSource, method: string): boolean {
  if (header(h, 'If-Match') === undefined && header(h, 'If-Unmodified-Since') !== undefined) return true;
  const getOrHead = method === 'GET' || method === 'HEAD';
  if (getOrHead && header(h, 'If-None-Match') === undefined && header(h, 'If-Modified-Since') !== undefined) return true;
  const ifRange = header(h, 'If-Range');
  return method === 'GET' && ifRange !== undefined && header(h, 'Range') !== undefined && !/^\s*(W\/)?"/.test(ifRange);
}
