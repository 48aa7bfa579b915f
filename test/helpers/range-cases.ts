/**
 * @module range-cases (test helper)
 * The §1.4 case table of range-and-signing.md (Range, If-Range and conditional headers on a 1000-byte object):
 * row number, request headers (from the object's Last-Modified and ETag), expected status, Content-Range, and
 * the slice of the object the body must be. Runtime-neutral: test/http/download.test.ts runs it in-process on
 * Node, test/workerd/range.test.ts against the Worker.
 */
import { httpDate } from '../../src/core/artifacts/conditional.ts';

export type RangeCase = [row: string, headers: (lm: number, etag: string) => Record<string, string>, status: number, cr: string | null, slice: [number, number] | null];
export const RANGE_CASES: RangeCase[] = [
  ['1', () => ({}), 200, null, [0, 1000]],
  ['2', () => ({ Range: 'bytes=0-0' }), 206, 'bytes 0-0/1000', [0, 1]],
  ['3', () => ({ Range: 'bytes=0-499' }), 206, 'bytes 0-499/1000', [0, 500]],
  ['4', () => ({ Range: 'bytes=0-999' }), 206, 'bytes 0-999/1000', [0, 1000]],
  ['5', () => ({ Range: 'bytes=0-' }), 206, 'bytes 0-999/1000', [0, 1000]],
  ['6', () => ({ Range: 'bytes=990-' }), 206, 'bytes 990-999/1000', [990, 1000]],
  ['7', () => ({ Range: 'bytes=999-999' }), 206, 'bytes 999-999/1000', [999, 1000]],
  ['8', () => ({ Range: 'bytes=-1' }), 206, 'bytes 999-999/1000', [999, 1000]],
  ['9', () => ({ Range: 'bytes=-10' }), 206, 'bytes 990-999/1000', [990, 1000]],
  ['10', () => ({ Range: 'bytes=-5000' }), 206, 'bytes 0-999/1000', [0, 1000]],
  ['11', () => ({ Range: 'bytes=990-1990' }), 206, 'bytes 990-999/1000', [990, 1000]],
  ['13', () => ({ Range: 'bytes=1000-' }), 416, 'bytes */1000', null],
  ['14', () => ({ Range: 'bytes=1000-1000' }), 416, 'bytes */1000', null],
  ['15', () => ({ Range: 'bytes=5000-6000' }), 416, 'bytes */1000', null],
  ['17', () => ({ Range: 'bytes=-0' }), 416, 'bytes */1000', null],
  ['18', () => ({ Range: 'bytes=500-499' }), 416, 'bytes */1000', null],
  ['19', () => ({ Range: 'bytes=abc' }), 416, 'bytes */1000', null],
  ['20', () => ({ Range: 'bytes=10-abc' }), 416, 'bytes */1000', null],
  ['21', () => ({ Range: 'bytes=10' }), 416, 'bytes */1000', null],
  ['23a', () => ({ Range: 'bytes=1e2-200' }), 416, 'bytes */1000', null],
  ['23b', () => ({ Range: 'bytes=0x10-0x20' }), 416, 'bytes */1000', null],
  ['23c', () => ({ Range: 'bytes=+5-10' }), 416, 'bytes */1000', null],
  ['23d', () => ({ Range: 'bytes=1.5-3' }), 416, 'bytes */1000', null],
  ['23e', () => ({ Range: 'bytes=01a-150' }), 416, 'bytes */1000', null],
  ['25', () => ({ Range: 'bytes=' }), 200, null, [0, 1000]],
  ['26a', () => ({ Range: 'items=0-5' }), 200, null, [0, 1000]],
  ['26b', () => ({ Range: '0-10' }), 200, null, [0, 1000]],
  ['26c', () => ({ Range: 'asdf' }), 200, null, [0, 1000]],
  ['27', () => ({ Range: 'BYTES=0-4' }), 206, 'bytes 0-4/1000', [0, 5]],
  ['29', () => ({ Range: 'bytes=0-4,5-9' }), 206, 'bytes 0-9/1000', [0, 10]],
  ['30', () => ({ Range: 'bytes=0-9,5-14' }), 206, 'bytes 0-14/1000', [0, 15]],
  ['31', () => ({ Range: 'bytes=0-1,5-6' }), 200, null, [0, 1000]],
  ['34', () => ({ Range: 'bytes=1000-2000,3000-' }), 416, 'bytes */1000', null],
  ['35', () => ({ Range: `bytes=${Array.from({ length: 17 }, (_, i) => `${2 * i}-${2 * i}`).join(',')}` }), 416, 'bytes */1000', null],
  ['37', (_lm, et) => ({ 'If-Range': et, Range: 'bytes=0-4' }), 206, 'bytes 0-4/1000', [0, 5]],
  ['38', () => ({ 'If-Range': '"v0"', Range: 'bytes=0-4' }), 200, null, [0, 1000]],
  ['40', (lm) => ({ 'If-Range': httpDate(lm), Range: 'bytes=0-4' }), 206, 'bytes 0-4/1000', [0, 5]],
  ['42', () => ({ 'If-Range': 'foo', Range: 'bytes=0-4' }), 200, null, [0, 1000]],
  ['43', (_lm, et) => ({ 'If-Range': et }), 200, null, [0, 1000]],
  ['44', (_lm, et) => ({ 'If-None-Match': et, Range: 'bytes=0-4' }), 304, null, null],
  ['46', (_lm, et) => ({ 'If-None-Match': et.toUpperCase() === et ? et.toLowerCase() : et.toUpperCase() }), 200, null, [0, 1000]],
  ['47', () => ({ 'If-Match': '"v0"', Range: 'bytes=0-4' }), 412, null, null],
  ['49', (_lm, et) => ({ 'If-Match': `"x", ${et}`, Range: 'bytes=0-4' }), 206, 'bytes 0-4/1000', [0, 5]],
  ['50', (lm) => ({ 'If-Unmodified-Since': httpDate(lm - 60_000) }), 412, null, null],
  ['52', () => ({ 'Accept-Encoding': 'gzip, br', Range: 'bytes=0-4' }), 206, 'bytes 0-4/1000', [0, 5]],
];
