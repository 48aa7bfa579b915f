/**
 * @module cache
 * A bounded, expiring key-value cache of plain values (never Responses, streams or promises: on Workers
 * those cannot cross requests). The LRU adapter implements it on Node and Workers; a map twin serves tests.
 */
export interface Cache<V> {
  get(key: string): V | undefined;
  /** Stores `value` for `ttlMs` milliseconds of the cache's clock. */
  set(key: string, value: V, ttlMs: number): void;
  delete(key: string): void;
  clear(): void;
  keys(): Iterable<string>;
  readonly size: number;
  readonly max: number;
}
