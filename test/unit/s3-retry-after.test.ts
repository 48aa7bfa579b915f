/**
 * Retry-After on a throttled S3 answer: delay-seconds as given; an HTTP-date relative to the same answer's `Date`
 * (the store's clock, not ours); a date with no `Date` to measure from, or garbage, falls back to the default.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_AFTER_S, toStorageError } from '../../src/adapters/s3/s3-errors.ts';

function slowDown(headers: Record<string, string>) {
  return Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 }, $response: { headers } });
}

describe('S3 Retry-After', () => {
  it('delay-seconds as given, rounded up', () => {
    expect(toStorageError(slowDown({ 'retry-after': '7' }), 'GET k').retryAfter).toBe(7);
    expect(toStorageError(slowDown({ 'retry-after': '2.5' }), 'GET k').retryAfter).toBe(3);
  });

  it('an HTTP-date counts from the answer\'s own Date, whatever the local clock says', () => {
    const sent = 'Tue, 01 Dec 2020 10:00:00 GMT';
    const e = toStorageError(slowDown({ 'retry-after': 'Tue, 01 Dec 2020 10:00:12 GMT', date: sent }), 'GET k');
    expect(e.kind).toBe('unavailable');
    expect(e.retryAfter).toBe(12);
    expect(toStorageError(slowDown({ 'retry-after': 'Tue, 01 Dec 2020 09:59:00 GMT', date: sent }), 'GET k').retryAfter).toBe(0);
  });

  it('a date without a Date header, or garbage, is the default', () => {
    expect(toStorageError(slowDown({ 'retry-after': 'Tue, 01 Dec 2020 10:00:12 GMT' }), 'GET k').retryAfter).toBe(DEFAULT_RETRY_AFTER_S);
    expect(toStorageError(slowDown({ 'retry-after': 'soon' }), 'GET k').retryAfter).toBe(DEFAULT_RETRY_AFTER_S);
    expect(toStorageError(slowDown({}), 'GET k').retryAfter).toBe(DEFAULT_RETRY_AFTER_S);
  });
});
