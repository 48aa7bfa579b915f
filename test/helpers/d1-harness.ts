/**
 * @module d1-harness (test helper)
 * An in-process regate on real D1 (miniflare) and the memory object store, assembled the way a Workers entry
 * would: all migrations applied with applyMigrations, bootstrap, a key ring in the database, and createDeps with
 * the portable defaults (Web Crypto, web-stream downloads). Driven through `app.request()` like harness.ts,
 * with the same API client (harness-core.ts).
 */
import { createApp } from '../../src/http/app.ts';
import { createDeps } from '../../src/http/deps.ts';
import { applyMigrations } from '../../src/core/migrate.ts';
import { bootstrap } from '../../src/core/bootstrap.ts';
import { parseConfig } from '../../src/core/config.ts';
import { manualClock } from '../../src/core/clock.ts';
import { systemTimers } from '../../src/core/timers.ts';
import { openSqlKeyRing } from '../../src/core/artifacts/sql-key-ring.ts';
import { ephemeralKek } from '../../src/core/artifacts/kek.ts';
import { MemoryObjectStore } from '../../src/adapters/memory/memory-object-store.ts';
import { createLruCache } from '../../src/adapters/lru/lru-cache.ts';
import type { D1Db } from '../../src/adapters/d1/d1-db.ts';
import { readMigrations } from '../../src/runtime/node-deps.ts';
import { apiClient, recordingLogger, T0 } from './harness-core.ts';

export async function makeD1Harness(db: D1Db, opts: { env?: Record<string, string> } = {}) {
  const env = opts.env ?? {};
  const clock = manualClock(T0);
  const { logger, logLines } = recordingLogger();
  const applied = await applyMigrations(db, readMigrations(), clock.now());
  const boot = await bootstrap(db, clock);
  const deps = createDeps({
    db,
    clock,
    config: parseConfig(env),
    logger,
    workspaceId: boot.workspaceId,
    objectStore: new MemoryObjectStore({ clock }),
    keyRing: await openSqlKeyRing(db, clock, await ephemeralKek()),
    timers: systemTimers,
    cache: <V extends object>(max: number) => createLruCache<V>({ max, clock }),
  });
  const app = createApp(deps);
  const adminToken = boot.firstAdmin!.token;

  const client = apiClient(async (_path, url, init) => {
    const res = await app.request(url.pathname + url.search, init);
    return { status: res.status, text: await res.text(), headers: res.headers };
  }, adminToken);
  return { app, deps, db, clock, logLines, adminToken, applied, ...client };
}
