/**
 * @module sweep
 * Managed-storage objects that no database row names any more: a crash between the batch that deletes a
 * model or version and the deletes of its files (managed.ts `purgeObjects` runs after the commit, on purpose:
 * a row never points at nothing), or between a version's copies and the batch that would index them. Nothing
 * serves them, but they hold disk (or bucket) space forever. Portable: it reads the store through the
 * ObjectStore port and the rows through SqlDb, so the Node entry and a Worker's scheduled handler can run it.
 *
 * A storage id under `registry/` without a `model_versions` row is either an orphan or a version being
 * created right now (its files are copied before its row is inserted, possibly by another process over the
 * same store). The two look alike at one instant, so an id is removed only when it has stayed unreferenced,
 * with the same files, for `graceMs` across sweeps: a creation in flight adds files (or its row) well within
 * that. Before removing, the row is looked up once more.
 */
import type { Clock, Logger, SqlDb } from '../ports.ts';
import type { ObjectStore } from '../storage/object-store.ts';

export const REGISTRY_PREFIX = 'registry/';
/** An unreferenced storage id is removed once it stayed so, unchanged, for this long. */
export const DEFAULT_ORPHAN_GRACE_MS = 60 * 60 * 1000;
/** Storage ids per lookup: bound values stay under D1's 100 per statement. */
const IDS_PER_QUERY = 90;

export interface OrphanSweepDeps {
  db: SqlDb;
  objectStore: ObjectStore;
  clock: Clock;
  logger?: Logger;
}

export interface OrphanSweepResult {
  /** Storage ids whose objects were removed by this sweep. */
  removed: string[];
  /** Objects deleted. */
  objects: number;
  /** Unreferenced storage ids still within their grace. */
  waiting: number;
}

/** Every rolled-up prefix directly below `prefix` (S3 CommonPrefixes), all pages. */
async function prefixesUnder(store: ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list(prefix, { delimiter: '/', ...(cursor ? { cursor } : {}) });
    out.push(...page.prefixes);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return out;
}

async function keysUnder(store: ObjectStore, prefix: string): Promise<{ keys: string[]; fingerprint: string }> {
  const keys: string[] = [];
  let bytes = 0;
  let cursor: string | undefined;
  do {
    const page = await store.list(prefix, cursor ? { cursor } : {});
    for (const o of page.objects) {
      keys.push(o.key);
      bytes += o.size;
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
  return { keys, fingerprint: `${keys.length}:${bytes}:${keys.at(-1) ?? ''}` };
}

async function referenced(db: SqlDb, ids: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
    const chunk = ids.slice(i, i + IDS_PER_QUERY);
    const rows = await db
      .prepare(`SELECT storage_id FROM model_versions WHERE storage_id IN (${chunk.map(() => '?').join(', ')})`)
      .bind(...chunk)
      .all<{ storage_id: string }>();
    for (const r of rows) found.add(r.storage_id);
  }
  return found;
}

/**
 * Finds and removes orphaned managed storage. Keep one per process and call `sweep()` at start and
 * periodically: what it saw unreferenced is remembered between calls (a restart only starts the grace again).
 * @example const sweeper = new OrphanSweeper({ db, objectStore, clock }); await sweeper.sweep();
 */
export class OrphanSweeper {
  readonly #deps: OrphanSweepDeps;
  readonly #graceMs: number;
  /** Unreferenced storage id → when it was first seen so, and what it held then. */
  readonly #seen = new Map<string, { at: number; fingerprint: string }>();

  constructor(deps: OrphanSweepDeps, opts: { graceMs?: number } = {}) {
    this.#deps = deps;
    this.#graceMs = opts.graceMs ?? DEFAULT_ORPHAN_GRACE_MS;
  }

  async sweep(): Promise<OrphanSweepResult> {
    const { db, objectStore: store, clock } = this.#deps;
    const ids = (await prefixesUnder(store, REGISTRY_PREFIX)).map((p) => p.slice(REGISTRY_PREFIX.length, -1));
    const live = await referenced(db, ids);
    const unreferenced = ids.filter((id) => !live.has(id));
    for (const id of [...this.#seen.keys()]) if (!unreferenced.includes(id)) this.#seen.delete(id);
    const result: OrphanSweepResult = { removed: [], objects: 0, waiting: 0 };
    for (const id of unreferenced) {
      const { keys, fingerprint } = await keysUnder(store, `${REGISTRY_PREFIX}${id}/`);
      const now = clock.now();
      const seen = this.#seen.get(id);
      if (!seen || seen.fingerprint !== fingerprint) {
        // New, or still changing (a version being created): the grace starts (again) now.
        this.#seen.set(id, { at: now, fingerprint });
        result.waiting++;
        continue;
      }
      if (now - seen.at < this.#graceMs) {
        result.waiting++;
        continue;
      }
      // Its row may have arrived since the listing.
      if ((await referenced(db, [id])).size > 0) {
        this.#seen.delete(id);
        continue;
      }
      for (const key of keys) await store.delete(key);
      this.#seen.delete(id);
      result.removed.push(id);
      result.objects += keys.length;
    }
    if (result.removed.length > 0) {
      this.#deps.logger?.info('orphans_removed', { storageIds: result.removed.length, objects: result.objects });
    }
    return result;
  }
}
