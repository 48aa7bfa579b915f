/**
 * The request decoder: well-formed escapes decode; malformed ones are a 400 INVALID_PARAMETER_VALUE
 * GatewayError, never the URIError `decodeURIComponent` throws (which the app would answer with a 500).
 */
import { describe, expect, it } from 'vitest';
import { decodeRequestComponent, percentEncodingProblem } from '../../src/core/percent-decoding.ts';
import { GatewayError } from '../../src/core/errors.ts';

describe('decodeRequestComponent', () => {
  it.each([
    ['a%20b', 'a b'],
    ['%C3%A9t%C3%A9', 'été'],
    ['%F0%9F%98%80', '😀'],
    ['plain', 'plain'],
    ['a+b', 'a+b'],
  ])('%s → %s', (raw, want) => {
    expect(decodeRequestComponent(raw, 'x')).toBe(want);
    expect(percentEncodingProblem(raw)).toBeNull();
  });

  it.each(['%ZZ', '%', 'a%2', '%ff', '%c0%ae', '%c0%ae%c0%ae', '%e2%82', '%ed%a0%80', '%f8%88%80%80%80', '%80'])('%s → 400', (raw) => {
    let thrown: unknown;
    try {
      decodeRequestComponent(raw, 'DBFS path');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    expect((thrown as GatewayError).status).toBe(400);
    expect((thrown as GatewayError).code).toBe('INVALID_PARAMETER_VALUE');
    expect((thrown as GatewayError).message).toContain('DBFS path');
    expect(percentEncodingProblem(raw)).not.toBeNull();
  });
});
