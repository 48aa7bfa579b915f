/**
 * @module d1-harness (test helper)
 * An in-process regate on real D1 (miniflare) and the memory object store, assembled the way a Workers entry
 * would: all migrations applied with applyMigrations, bootstrap, a key ring in the database, and createDeps with
 * the portable defaults (Web Crypto, web-stream downloads). Driven through `app.request()` like harness.ts,
 * whose SQLite-typed harness it mirrors for the calls the end-to-end D1 test makes.
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
import type { Logger } from '../../src/core/ports.ts';
import { readMigrations } from '../../src/runtime/node-deps.ts';
import { SCIM, T0, type CallOptions, type CallResult, type Identity } from './harness.ts';

export async function makeD1Harness(db: D1Db, opts: { env?: Record<string, string> } = {}) {
  const env = opts.env ?? {};
  const clock = manualClock(T0);
  const logLines: Array<{ level: string; event: string; fields: Record<string, unknown> }> = [];
  const logger: Logger = {
    info: (event, fields = {}) => logLines.push({ level: 'info', event, fields }),
    warn: (event, fields = {}) => logLines.push({ level: 'warn', event, fields }),
    error: (event, fields = {}) => logLines.push({ level: 'error', event, fields }),
  };
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

  async function call(method: string, path: string, o: CallOptions = {}): Promise<CallResult> {
    const url = new URL(`http://regate.test${path}`);
    for (const [k, v] of Object.entries(o.query ?? {})) {
      if (v === undefined) continue;
      for (const x of Array.isArray(v) ? v : [v]) url.searchParams.append(k, x);
    }
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    const token = o.token === undefined ? adminToken : o.token;
    if (token !== null && headers.Authorization === undefined) headers.Authorization = `Bearer ${token}`;
    let body: string | undefined = o.rawBody;
    if (body === undefined && o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['Content-Type'] = 'application/json';
    }
    const res = await app.request(url.pathname + url.search, { method, headers, body });
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers };
  }

  async function expectOk(method: string, path: string, o: CallOptions = {}) {
    const r = await call(method, path, o);
    if (r.status !== 200) throw new Error(`${method} ${path} -> ${r.status} ${r.text}`);
    return r.json;
  }

  /** A user made by the admin through SCIM, with a token made on its behalf. */
  async function user(name: string): Promise<Identity> {
    const u = await expectOk('POST', `${SCIM}/Users`, { body: { userName: name } });
    const t = await expectOk('POST', '/api/2.0/token-management/on-behalf-of/tokens', { body: { user_name: name } });
    return { id: u.id, name, token: t.token_value };
  }

  return { app, deps, db, clock, logLines, adminToken, applied, call, expectOk, user };
}
