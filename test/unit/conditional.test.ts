import { describe, expect, it } from 'vitest';
import {
  evaluatePreconditions,
  httpDate,
  ifRangeMatches,
  needsLastModified,
  parseEtagList,
  parseHttpDate,
} from '../../src/core/artifacts/conditional.ts';
import { parseRange } from '../../src/core/artifacts/range.ts';

const LM = Date.UTC(2026, 10, 23, 12, 0, 0);
const LM_HTTP = 'Mon, 23 Nov 2026 12:00:00 GMT';
const V = { etag: '"v1"', lastModified: LM };
const H = (h: Record<string, string>) => new Headers(h);

/** The status the §1.4 table expects, from preconditions, If-Range and Range together. */
function decide(method: string, h: Headers, size = 1000) {
  const pre = evaluatePreconditions(h, V, method);
  if (pre === 'not_modified') return { status: 304 };
  if (pre === 'precondition_failed') return { status: 412 };
  if (method !== 'GET' || !ifRangeMatches(h.get('If-Range'), V)) return { status: 200 };
  const r = parseRange(h.get('Range') ?? undefined, size);
  if (r.kind === 'unsatisfiable') return { status: 416 };
  if (r.kind === 'full') return { status: 200 };
  return { status: 206, range: [r.start, r.end] };
}

describe('§1.4 rows 36–51 (N = 1000, ETag "v1", Last-Modified LM)', () => {
  it.each([
    ['36 HEAD ignores Range', 'HEAD', { Range: 'bytes=0-4' }, { status: 200 }],
    ['37 If-Range strong match', 'GET', { 'If-Range': '"v1"', Range: 'bytes=0-4' }, { status: 206, range: [0, 4] }],
    ['38 If-Range other tag', 'GET', { 'If-Range': '"v0"', Range: 'bytes=0-4' }, { status: 200 }],
    ['40 If-Range = LM', 'GET', { 'If-Range': LM_HTTP, Range: 'bytes=0-4' }, { status: 206, range: [0, 4] }],
    ['42 If-Range garbage', 'GET', { 'If-Range': 'foo', Range: 'bytes=0-4' }, { status: 200 }],
    ['43 If-Range without Range', 'GET', { 'If-Range': '"v1"' }, { status: 200 }],
    ['44 If-None-Match match beats Range', 'GET', { 'If-None-Match': '"v1"', Range: 'bytes=0-4' }, { status: 304 }],
    ['46 If-None-Match is case-sensitive', 'GET', { 'If-None-Match': '"V1"' }, { status: 200 }],
    ['47 If-Match mismatch beats Range', 'GET', { 'If-Match': '"v0"', Range: 'bytes=0-4' }, { status: 412 }],
    ['49 If-Match list with a match', 'GET', { 'If-Match': '"x", "v1"', Range: 'bytes=0-4' }, { status: 206, range: [0, 4] }],
    ['50 If-Unmodified-Since before LM', 'GET', { 'If-Unmodified-Since': httpDate(LM - 60_000) }, { status: 412 }],
    ['52 Accept-Encoding does not change the range', 'GET', { 'Accept-Encoding': 'gzip, br', Range: 'bytes=0-4' }, { status: 206, range: [0, 4] }],
  ] as Array<[string, string, Record<string, string>, object]>)('row %s', (_row, method, headers, expected) => {
    expect(decide(method, H(headers))).toEqual(expected);
  });
});

describe('preconditions (Go TestServeContent, pillarjs/send)', () => {
  it.each([
    [{ 'If-None-Match': '"foo"' }, { etag: '"foo"' }, 'not_modified'],
    [{ 'If-None-Match': '"baz", W/"foo"' }, { etag: '"foo"' }, 'not_modified'],
    [{ 'If-None-Match': '"Foo"' }, { etag: '"foo"' }, 'proceed'],
    [{ 'If-None-Match': ',' }, { etag: '"foo"' }, 'proceed'],
    [{ 'If-None-Match': '*' }, { etag: '"foo"' }, 'not_modified'],
    [{ 'If-Match': '"Z", "A"' }, { etag: '"A"' }, 'proceed'],
    [{ 'If-Match': '*' }, { etag: '"A"' }, 'proceed'],
    [{ 'If-Match': '"B"' }, { etag: '"A"' }, 'precondition_failed'],
    [{ 'If-Match': 'W/"A"' }, { etag: '"A"' }, 'precondition_failed'],
    [{ 'If-Match': 'A' }, { etag: '"A"' }, 'precondition_failed'],
    [{ 'If-Match': '"a,b", "A"' }, { etag: '"A"' }, 'proceed'],
  ] as Array<[Record<string, string>, { etag: string }, string]>)('%j against %j → %s', (headers, v, expected) => {
    expect(evaluatePreconditions(H(headers), v, 'GET')).toBe(expected);
  });

  it('If-None-Match on other methods fails the precondition instead of 304', () => {
    expect(evaluatePreconditions(H({ 'If-None-Match': '"v1"' }), V, 'HEAD')).toBe('not_modified');
    expect(evaluatePreconditions(H({ 'If-None-Match': '"v1"' }), V, 'PUT')).toBe('precondition_failed');
  });

  it('dates: If-Unmodified-Since and If-Modified-Since at one-second resolution', () => {
    const ius = (d: string) => evaluatePreconditions(H({ 'If-Unmodified-Since': d }), { etag: '"v1"', lastModified: LM + 999 }, 'GET');
    expect(ius(httpDate(LM - 1000))).toBe('precondition_failed');
    expect(ius(LM_HTTP)).toBe('proceed');
    expect(ius('not a date')).toBe('proceed'); // send: invalid date → 200
    expect(ius(`${LM_HTTP}, ${LM_HTTP}`)).toBe('proceed'); // a list of dates is not a date
    const ims = (d: string) => evaluatePreconditions(H({ 'If-Modified-Since': d }), V, 'GET');
    expect(ims(LM_HTTP)).toBe('not_modified');
    expect(ims(httpDate(LM + 5000))).toBe('not_modified');
    expect(ims(httpDate(LM - 1000))).toBe('proceed');
    expect(ims('yesterday')).toBe('proceed');
    expect(evaluatePreconditions(H({ 'If-Modified-Since': LM_HTTP }), V, 'POST')).toBe('proceed');
  });

  it('RFC 9110 §13.2.2 order: If-Match wins over If-Unmodified-Since, If-None-Match over If-Modified-Since', () => {
    // If-Match true → If-Unmodified-Since is not evaluated.
    expect(evaluatePreconditions(H({ 'If-Match': '"v1"', 'If-Unmodified-Since': httpDate(LM - 60_000) }), V, 'GET')).toBe('proceed');
    // If-None-Match present and false → If-Modified-Since is not evaluated.
    expect(evaluatePreconditions(H({ 'If-None-Match': '"v0"', 'If-Modified-Since': LM_HTTP }), V, 'GET')).toBe('proceed');
    // 412 from If-Match comes before 304 from If-None-Match.
    expect(evaluatePreconditions(H({ 'If-Match': '"v0"', 'If-None-Match': '"v1"' }), V, 'GET')).toBe('precondition_failed');
    // Date conditions are not evaluated when Last-Modified is unknown.
    expect(evaluatePreconditions(H({ 'If-Unmodified-Since': httpDate(0) }), { etag: '"v1"' }, 'GET')).toBe('proceed');
  });
});

describe('If-Range', () => {
  it.each([
    [null, true],
    ['"v1"', true],
    [' "v1" ', true],
    ['"v0"', false],
    ['W/"v1"', false],
    [LM_HTTP, true],
    [httpDate(LM + 1000), false], // Go: one second later → 200
    [httpDate(LM - 1000), false], // send: older date → 200
    ['foo', false],
    ['', false],
  ] as Array<[string | null, boolean]>)('%j → %s', (value, expected) => {
    expect(ifRangeMatches(value, V)).toBe(expected);
  });

  it('a date never matches when Last-Modified is unknown (nginx), and a weak current ETag never matches', () => {
    expect(ifRangeMatches(LM_HTTP, { etag: '"v1"' })).toBe(false);
    expect(ifRangeMatches('W/"v1"', { etag: 'W/"v1"' })).toBe(false);
    expect(ifRangeMatches('"v1"', { etag: 'W/"v1"' })).toBe(false);
  });

  it('sub-second parts of Last-Modified are truncated (Go range_with_modtime)', () => {
    expect(ifRangeMatches(LM_HTTP, { etag: '"v1"', lastModified: LM + 999 })).toBe(true);
  });
});

describe('HTTP-date and entity-tag parsing', () => {
  it('accepts the three HTTP-date forms and nothing looser', () => {
    const t = Date.UTC(1994, 10, 6, 8, 49, 37);
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(t);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT')).toBe(t);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(t);
    for (const bad of ['1994-11-06T08:49:37Z', '784111777', 'Sun, 6 Nov 1994 08:49:37 GMT', 'Sun, 31 Feb 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 08:49:37 UTC', '']) {
      expect(parseHttpDate(bad), bad).toBeUndefined();
    }
    expect(httpDate(LM)).toBe(LM_HTTP);
  });

  it('parses entity-tag lists, skipping malformed members', () => {
    expect(parseEtagList('"a", W/"b" ,"c,d"')).toEqual([
      { weak: false, tag: '"a"' },
      { weak: true, tag: '"b"' },
      { weak: false, tag: '"c,d"' },
    ]);
    expect(parseEtagList(' * ')).toBe('*');
    expect(parseEtagList('foo, "x"')).toEqual([{ weak: false, tag: '"x"' }]);
    expect(parseEtagList('"unterminated')).toEqual([]);
  });

  it('needsLastModified only when a date condition will be evaluated', () => {
    expect(needsLastModified(H({}), 'GET')).toBe(false);
    expect(needsLastModified(H({ 'If-None-Match': '"v1"' }), 'GET')).toBe(false);
    expect(needsLastModified(H({ 'If-Modified-Since': LM_HTTP }), 'GET')).toBe(true);
    expect(needsLastModified(H({ 'If-Modified-Since': LM_HTTP, 'If-None-Match': '"x"' }), 'GET')).toBe(false);
    expect(needsLastModified(H({ 'If-Unmodified-Since': LM_HTTP }), 'HEAD')).toBe(true);
    expect(needsLastModified(H({ 'If-Unmodified-Since': LM_HTTP, 'If-Match': '*' }), 'GET')).toBe(false);
    expect(needsLastModified(H({ 'If-Range': LM_HTTP, Range: 'bytes=0-1' }), 'GET')).toBe(true);
    expect(needsLastModified(H({ 'If-Range': LM_HTTP }), 'GET')).toBe(false);
    expect(needsLastModified(H({ 'If-Range': '"v1"', Range: 'bytes=0-1' }), 'GET')).toBe(false);
    expect(needsLastModified(H({ 'If-Range': LM_HTTP, Range: 'bytes=0-1' }), 'HEAD')).toBe(false);
  });
});
