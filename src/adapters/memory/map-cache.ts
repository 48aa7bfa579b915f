/**
 * @module map-cache
 * The Cache port as a plain Map with expiry and oldest-first eviction: the fake that must pass the same
 * contract suite as the LRU adapter.
 */
import type { Cache } from '../../core/cache.ts';
import type { Clock } from '../../core/ports.ts';

export function createMapCache<V>(opts: { max: number; clock: Clock }): Cache<V> {
  const map = new Map<string, { value: V; expires: number }>();
  const live = (k: string) => {
    const e = map.get(k);
    if (e && e.expires <= opts.clock.now()) {
      map.delete(k);
      return undefined;
    }
    return e;
  };
  return {
    get(k) {
      const e = live(k);
      if (!e) return undefined;
      map.delete(k);
      map.set(k, e);
      return e.value;
    },
    set(k, value, ttlMs) {
      map.delete(k);
      map.set(k, { value, expires: opts.clock.now() + Math.max(1, ttlMs) });
      while (map.size > opts.max) map.delete(map.keys().next().value!);
    },
    delete: (k) => void map.delete(k),
    clear: () => map.clear(),
    keys: () => [...map.keys()].filter((k) => live(k) !== undefined),
    get size() {
      return map.size;
    },
    max: opts.max,
  };
}
