/**
 * @module data-cache
 * Registry rows kept in memory under the data epoch (access/epoch.ts): triggers move that epoch inside every
 * transaction that writes models, tags, versions, grants or artifact rows, and every request knows the current
 * one. An entry read under the current epoch is therefore exactly what a statement would read now, so a warm
 * get-signed-download-uri, download start or registered-models/get runs no statement of its own (and on D1
 * saves a round trip). Any registry write anywhere retires every entry at once: writes are rare next to reads.
 * Only found rows are kept; a miss always goes to the database, so a model created a moment ago is seen.
 */
import type { Cache } from '../cache.ts';
import type { Epochs } from './epoch.ts';

export interface DataEntry {
  data: number;
  value: object;
}

/** How long an entry may live while no write moves the epoch (bounds memory, not staleness). */
export const DATA_TTL_MS = 300_000;
/**
 * Entries kept: a model entity with its latest versions and tags is a few KB, so this bounds the cache to tens of
 * MB; far more hot models and files than a fleet pulls at once.
 */
export const DATA_ENTRIES = 20_000;

export class DataCache {
  readonly #cache: Cache<DataEntry>;

  constructor(cache: Cache<DataEntry>) {
    this.#cache = cache;
  }

  /**
   * The value under `key` read under `epochs`, else `load()` (kept when not null).
   * @example const row = await rows.through(`m\0${name}`, principal.epochs, () => readModel(db, name))
   */
  async through<T extends object>(key: string, epochs: Epochs, load: () => Promise<T | null>): Promise<T | null> {
    const hit = this.#cache.get(key);
    if (hit !== undefined && hit.data === epochs.data) return hit.value as T;
    const value = await load();
    if (value !== null) this.#cache.set(key, { data: epochs.data, value }, DATA_TTL_MS);
    return value;
  }

  clear(): void {
    this.#cache.clear();
  }
}
