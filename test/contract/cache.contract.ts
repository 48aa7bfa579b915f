/**
 * @module cache-contract
 * What every Cache adapter must do: expire on the injected clock, stay within `max`, evict the least
 * recently used entry first, delete and clear.
 */
import { describe, expect, it } from 'vitest';
import type { Cache } from '../../src/core/cache.ts';
import { manualClock } from '../../src/core/clock.ts';
import type { Clock } from '../../src/core/ports.ts';

export function runCacheContract(name: string, make: (o: { max: number; clock: Clock }) => Cache<{ v: number }>): void {
  describe(`Cache contract: ${name}`, () => {
    it('returns what was set until its TTL passes on the injected clock', () => {
      const clock = manualClock(1000);
      const c = make({ max: 10, clock });
      c.set('a', { v: 1 }, 500);
      clock.advance(499);
      expect(c.get('a')).toEqual({ v: 1 });
      clock.advance(1);
      expect(c.get('a')).toBeUndefined();
    });

    it('never holds more than max entries and evicts the least recently used', () => {
      const clock = manualClock(0);
      const c = make({ max: 3, clock });
      c.set('a', { v: 1 }, 10_000);
      c.set('b', { v: 2 }, 10_000);
      c.set('c', { v: 3 }, 10_000);
      c.get('a');
      c.set('d', { v: 4 }, 10_000);
      expect(c.size).toBeLessThanOrEqual(3);
      expect(c.get('b')).toBeUndefined();
      expect(c.get('a')).toEqual({ v: 1 });
      for (let i = 0; i < 1000; i++) c.set(`k${i}`, { v: i }, 10_000);
      expect(c.size).toBeLessThanOrEqual(3);
    });

    it('deletes one key, lists keys, and clears', () => {
      const c = make({ max: 10, clock: manualClock(0) });
      c.set('x:1', { v: 1 }, 1000);
      c.set('x:2', { v: 2 }, 1000);
      c.delete('x:1');
      expect([...c.keys()]).toEqual(['x:2']);
      c.clear();
      expect(c.get('x:2')).toBeUndefined();
      expect(c.size).toBe(0);
    });
  });
}
