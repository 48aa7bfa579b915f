import { describe, expect, it } from 'vitest';
import { contentRange, parseRange, unsatisfiedRange, type RangeResult } from '../../src/core/artifacts/range.ts';

const N = 1000;
const full: RangeResult = { kind: 'full' };
const unsat: RangeResult = { kind: 'unsatisfiable' };
const part = (start: number, end: number): RangeResult => ({ kind: 'partial', start, end });

// range-and-signing §1.4, object of 1000 bytes: the rows that the Range header alone decides.
const TABLE: Array<[row: string, header: string | undefined, expected: RangeResult]> = [
  ['1 no Range', undefined, full],
  ['2', 'bytes=0-0', part(0, 0)],
  ['3', 'bytes=0-499', part(0, 499)],
  ['4 whole object is still 206', 'bytes=0-999', part(0, 999)],
  ['5', 'bytes=0-', part(0, 999)],
  ['6', 'bytes=990-', part(990, 999)],
  ['7', 'bytes=999-999', part(999, 999)],
  ['8', 'bytes=-1', part(999, 999)],
  ['9', 'bytes=-10', part(990, 999)],
  ['10 suffix longer than N', 'bytes=-5000', part(0, 999)],
  ['11 end clamped', 'bytes=990-1990', part(990, 999)],
  ['13 first-pos = N (erratum 5474)', 'bytes=1000-', unsat],
  ['14', 'bytes=1000-1000', unsat],
  ['15', 'bytes=5000-6000', unsat],
  ['17 bytes=-0 (P7)', 'bytes=-0', unsat],
  ['18 last < first', 'bytes=500-499', unsat],
  ['19', 'bytes=abc', unsat],
  ['20', 'bytes=10-abc', unsat],
  ['21 no hyphen', 'bytes=10', unsat],
  ['23 exponent', 'bytes=1e2-200', unsat],
  ['23 hex', 'bytes=0x10-0x20', unsat],
  ['23 plus sign', 'bytes=+5-10', unsat],
  ['23 decimal point', 'bytes=1.5-3', unsat],
  ['23 trailing garbage', 'bytes=01a-150', unsat],
  ['25 empty set', 'bytes=', full],
  ['26 other unit', 'items=0-5', full],
  ['26 no "="', '0-10', full],
  ['26 garbage', 'asdf', full],
  ['27 unit is case-insensitive', 'BYTES=0-4', part(0, 4)],
  ['29 adjacent merge', 'bytes=0-4,5-9', part(0, 9)],
  ['30 overlap merge', 'bytes=0-9,5-14', part(0, 14)],
  ['31 disjoint → full, never multipart', 'bytes=0-1,5-6', full],
  ['34 all unsatisfiable', 'bytes=1000-2000,3000-', unsat],
  ['35 17 specs', `bytes=${Array.from({ length: 17 }, (_, i) => `${2 * i}-${2 * i}`).join(',')}`, unsat],
  ['35 10 000 × 0-', `bytes=${Array(10_000).fill('0-').join(',')}`, unsat],
];

describe('parseRange: the §1.4 case table (N = 1000)', () => {
  it.each(TABLE)('row %s: %j', (_row, header, expected) => {
    expect(parseRange(header, N)).toEqual(expected);
  });
});

describe('parseRange: peer-suite and policy details', () => {
  it.each([
    // Go fs_test.go on 11 bytes
    ['bytes=0-4', 11, part(0, 4)],
    ['bytes=2-', 11, part(2, 10)],
    ['bytes=-5', 11, part(6, 10)],
    ['bytes=0-10', 11, part(0, 10)],
    ['bytes=0-11', 11, part(0, 10)],
    ['bytes=10-11', 11, part(10, 10)],
    ['bytes=11-', 11, unsat],
    ['bytes=11-12', 11, unsat],
    ['bytes=12-12', 11, unsat],
    ['bytes=100-', 11, unsat],
    // Go issue 40940 on 22 bytes: malformed suffixes
    ['bytes=--6', 22, unsat],
    ['bytes=--0', 22, unsat],
    ['bytes=---0', 22, unsat],
    ['bytes=-6-', 22, unsat],
    ['bytes=-6', 22, part(16, 21)],
    // Go ParseRangeTests error cases
    ['bytes=7', 100, unsat],
    ['bytes=A-', 100, unsat],
    ['bytes=5-Z', 100, unsat],
    ['bytes=--5,4--3', 100, unsat],
    ['bytes=Ran-dom, garbage', 100, unsat],
    // range-parser malformed set
    ['bytes= ', 100, full],
    ['x-100', 200, full],
    ['bytes=x-100', 200, unsat],
    ['bytes=100-x', 200, unsat],
    ['bytes=--100', 200, unsat],
    ['bytes=100--200', 200, unsat],
    ['bytes=-', 200, unsat],
    ['bytes=100-200-300', 200, unsat],
    ['bytes=-100-150', 200, unsat],
    ['bytes=100-15b0', 200, unsat],
    // range-parser: unsatisfiable members are dropped, the rest served
    ['bytes=500-600', 200, unsat],
    ['bytes=500-999,1000-1499', 200, unsat],
    ['bytes=0-499,1000-,500-999', 200, part(0, 199)],
    // send: adjacent merge, disjoint → full
    ['bytes=1-2,3-5', 9, part(1, 5)],
    ['bytes=1-1,3-', 9, full],
    ['bytes=2-50', 9, part(2, 8)],
    ['bytes=9-50', 9, unsat],
    // Go: all of 0-,1-,2-... merges into one range here (Go answers 200)
    ['bytes=0-,1-,2-,3-,4-', 11, part(0, 10)],
    // nginx: 0-10001, 0-0 → one merged range
    ['bytes=0-10001, 0-0', 1000, part(0, 999)],
    ['bytes=10-11 12-', 1000, unsat],
    // bytes=-0 next to a satisfiable spec is only an empty member
    ['bytes=-0,0-4', 1000, part(0, 4)],
    // Apache-style whitespace, and empty list elements
    ['bytes=   1 -2   ,  4- 5, 7 - 8 , ,,', 100, full],
    ['bytes=   1 -2   , , 3-3', 100, part(1, 3)],
    ['bytes=0-4,', 100, part(0, 4)],
    ['bytes=\t0-4\t', 100, part(0, 4)],
    // non-ASCII digits are not digits
    ['bytes=０-4', 100, unsat],
    ['bytes=٣-4', 100, unsat],
    // unit must be exactly "bytes" (any case)
    ['bytes =0-4', 100, full],
    ['byte=0-4', 100, full],
    ['Bytes=0-4', 100, part(0, 4)],
  ] as Array<[string, number, RangeResult]>)('%j on %i bytes', (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });

  it('P6: any Range on an empty object means the full (empty) body', () => {
    for (const h of ['bytes=0-0', 'bytes=-1', 'bytes=-0', 'bytes=abc', `bytes=${'0-,'.repeat(600)}`]) {
      expect(parseRange(h, 0)).toEqual(full);
    }
  });

  it('P9: exactly 16 specs are fine, 17 are not; a header over 1 KiB is unsatisfiable even if valid', () => {
    const specs = (n: number) => Array.from({ length: n }, (_, i) => `${i}-${i}`).join(',');
    expect(parseRange(`bytes=${specs(16)}`, 1000)).toEqual(part(0, 15));
    expect(parseRange(`bytes=${specs(17)}`, 1000)).toEqual(unsat);
    const padded = `bytes=0-4${' '.repeat(1020)}`;
    expect(padded.length).toBeGreaterThan(1024);
    expect(parseRange(padded, 1000)).toEqual(unsat);
    expect(parseRange(`bytes=0-4${' '.repeat(1024 - 9)}`, 1000)).toEqual(part(0, 4));
    expect(parseRange(`items=${'x'.repeat(2000)}`, 1000)).toEqual(unsat);
  });

  it('P9: a 10 000-spec header is answered without parsing it', () => {
    const header = `bytes=${Array(10_000).fill('0-0').join(',')}`;
    const t = performance.now();
    for (let i = 0; i < 100; i++) parseRange(header, 1000);
    expect(performance.now() - t).toBeLessThan(50);
  });

  it('refuses a size that is not a non-negative safe integer', () => {
    expect(() => parseRange('bytes=0-1', -1)).toThrow(RangeError);
    expect(() => parseRange('bytes=0-1', 1.5)).toThrow(RangeError);
  });
});

describe('T24: numeric edges never go through floating point', () => {
  const BIG = 5 * 1024 ** 3; // > 4 GiB
  it.each([
    ['bytes=0-99999999999999999999999', 1000, part(0, 999)],
    ['bytes=99999999999999999999-', 1000, unsat],
    ['bytes=99999999999999999999-99999999999999999999', 1000, unsat],
    ['bytes=18446744073709551615-', 1000, unsat], // MS15-034
    ['bytes=0-18446744073709551615', 1000, part(0, 999)],
    ['bytes=-18446744073709551615', 1000, part(0, 999)],
    ['bytes=9007199254740993-', 1000, unsat],
    ['bytes=999999999999999-', 1000, unsat], // 15 digits
    ['bytes=5-1e21', 1000, unsat],
    ['bytes=00000000000000000000000000005-00000000000000000000000000009', 1000, part(5, 9)],
    ['bytes=-0000000000000000000000', 1000, unsat],
    [`bytes=${BIG - 10}-`, BIG, part(BIG - 10, BIG - 1)],
    [`bytes=4294967296-4294967297`, BIG, part(4294967296, 4294967297)],
    ['bytes=-1', Number.MAX_SAFE_INTEGER, part(Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER - 1)],
  ] as Array<[string, number, RangeResult]>)('%j on %i bytes', (header, size, expected) => {
    const r = parseRange(header, size);
    expect(r).toEqual(expected);
    if (r.kind === 'partial') {
      const cr = contentRange(r.start, r.end, size);
      expect(cr).toMatch(/^bytes \d+-\d+\/\d+$/);
      expect(cr).not.toMatch(/e\+|Infinity|NaN/);
    }
  });

  it('renders Content-Range digits exactly', () => {
    expect(contentRange(0, 4, 1000)).toBe('bytes 0-4/1000');
    expect(contentRange(209715200, 262143999, 262144000)).toBe('bytes 209715200-262143999/262144000');
    expect(unsatisfiedRange(1000)).toBe('bytes */1000');
    expect(unsatisfiedRange(5 * 1024 ** 4)).toBe('bytes */5497558138880');
  });
});
