import { describe, expect, it } from 'vitest';
import { decodePageToken, encodePageToken, toPage } from '../../src/core/registry/paging.ts';
import { modelDirOf, parseVersion } from '../../src/core/registry/validate.ts';
import { GatewayError } from '../../src/core/errors.ts';

const code = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return (e as GatewayError).code;
  }
};

describe('page tokens', () => {
  it('round-trips offsets and is base64url without padding', () => {
    for (const n of [0, 1, 99, 100, 123456789]) {
      const t = encodePageToken(n);
      expect(t).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodePageToken(t)).toBe(n);
    }
  });
  it('treats an absent or empty token as the first page', () => {
    expect(decodePageToken(undefined)).toBe(0);
    expect(decodePageToken('')).toBe(0);
  });
  const b64 = (s: string) => btoa(s).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  it.each([
    ['garbage!', 'not base64url'],
    ['abcde', 'bad length'],
    [b64('not json'), 'not JSON'],
    [b64('[1]'), 'an array'],
    [b64('{"offset":-1}'), 'negative'],
    [b64('{"offset":1.5}'), 'fractional'],
    [b64('{"offset":"3"}'), 'a string offset'],
    [b64('{"offset":3,"x":1}'), 'an extra key'],
    [b64('{}'), 'no offset'],
    [b64('{"offset":1e300}'), 'huge'],
  ])('refuses %s (%s)', (token) => {
    expect(code(() => decodePageToken(token))).toBe('INVALID_PARAMETER_VALUE');
  });
  it('cuts a LIMIT max+1 result into a page and a next token', () => {
    expect(toPage([1, 2, 3], 10, 3)).toEqual({ items: [1, 2, 3] });
    const p = toPage([1, 2, 3, 4], 10, 3);
    expect(p.items).toEqual([1, 2, 3]);
    expect(decodePageToken(p.nextPageToken)).toBe(13);
  });
});

describe('parseVersion', () => {
  it('accepts positive integers as strings or numbers', () => {
    expect(parseVersion('1')).toBe(1);
    expect(parseVersion(42)).toBe(42);
  });
  it.each([['0'], [0], ['-1'], ['1.0'], [1.5], ['abc'], [''], [null], [true], ['9999999999999999']])('refuses %j', (v) => {
    expect(code(() => parseVersion(v))).toBe('INVALID_PARAMETER_VALUE');
  });
});

describe('modelDirOf', () => {
  it.each([
    ['dbfs:/databricks/mlflow/tmp-external-source/abc/model', 'model'],
    ['runs:/0123/my_model/', 'my_model'],
    ['s3://bucket/path/to/clf?versionId=3', 'clf'],
    ['models:/other/3', '3'],
    ['plainname', 'model'],
    ['s3://bucket/..', 'model'],
    ['s3://bucket/a%2Fb', 'model'],
    ['file:///tmp/x\\y', 'model'],
  ])('%s -> %s', (source, dir) => {
    expect(modelDirOf(source)).toBe(dir);
  });
});
