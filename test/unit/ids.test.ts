import { describe, expect, it } from 'vitest';
import { constantTimeEqual, newModelId, newScimId } from '../../src/core/ids.ts';

describe('ids', () => {
  it('SCIM ids are 16 digits and exact as JSON numbers (below 2^53)', () => {
    for (let i = 0; i < 5000; i++) {
      const id = newScimId();
      expect(id).toMatch(/^[1-8][0-9]{15}$/);
      expect(Number.isSafeInteger(Number(id))).toBe(true);
      expect(String(Number(id))).toBe(id);
    }
  });

  it('model ids are 32 lower-case hex', () => {
    expect(newModelId()).toMatch(/^[0-9a-f]{32}$/);
    expect(newModelId()).not.toBe(newModelId());
  });

  it('constant-time comparison', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
  });
});
