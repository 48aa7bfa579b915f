/**
 * @module lru-cache
 * The Cache port on isaacs/lru-cache: bounded by `max`, per-entry TTL on the injected clock (lru-cache's
 * `perf` option), so TTL tests move a manual clock instead of sleeping.
 */
import { LRUCache } from 'lru-cache';
import type { Cache } from '../../core/cache.ts';
import type { Clock } from '../../core/ports.ts';

export function createLruCache<V extends object>(opts: { max: number; clock: Clock }): Cache<V> {
  const lru = new LRUCache<string, V>({
    max: opts.max,
    ttlAutopurge: false,
    // Resolution 0: read the clock on every check, so a manual clock is honoured exactly.
    ttlResolution: 0,
    perf: { now: () => opts.clock.now() },
    allowStale: false,
  });
  return {
    get: (k) => lru.get(k),
    // lru-cache treats an entry as stale when its age is greater than `ttl`; the port promises expiry once the
    // age reaches the TTL, hence the minus one. (It also ignores entries set at clock time 0.)
    set: (k, v, ttlMs) => void lru.set(k, v, { ttl: Math.max(1, ttlMs - 1) }),
    delete: (k) => void lru.delete(k),
    clear: () => lru.clear(),
    keys: () => lru.keys(),
    get size() {
      return lru.size;
    },
    max: opts.max,
  };
}
