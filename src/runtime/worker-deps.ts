/**
 * @module worker-deps
 * Builds regate for one Worker isolate from its bindings, the way node-deps.ts does for a process: D1 through
 * the SqlDb adapter, the migrations bundled into the Worker applied (once per isolate; applyMigrations is safe
 * when isolates race), the first admin from the `REGATE_ADMIN_TOKEN` secret (bootstrap's claim batch is
 * atomic across isolates), the signing keys from the key ring in D1 sealed with the `REGATE_KEY_ENCRYPTION_KEY`
 * secret, the artifact store (worker-store.ts), and the same Hono app through createDeps.
 *
 * Fails closed: a missing or malformed secret, a bad setting, a key ring the KEK does not open, all throw a
 * `WorkerStartupError` whose message names what to fix (never a secret's value); worker.ts answers it as 503.
 */
import type { Hono } from 'hono';
import { D1Db } from '../adapters/d1/d1-db.ts';
import { createLruCache } from '../adapters/lru/lru-cache.ts';
import { applyMigrations } from '../core/migrate.ts';
import { bootstrap } from '../core/bootstrap.ts';
import { ConfigError, parseConfig } from '../core/config.ts';
import { systemClock } from '../core/clock.ts';
import { systemTimers, type Timers } from '../core/timers.ts';
import { importKek, KEK_ENV, parseKek } from '../core/artifacts/kek.ts';
import { openSqlKeyRing } from '../core/artifacts/sql-key-ring.ts';
import { KeyLoadError } from '../core/artifacts/key-load-error.ts';
import type { DownloadLimits } from '../core/artifacts/download-limits.ts';
import type { BatchingAuditOptions } from '../core/audit.ts';
import type { Clock, Logger } from '../core/ports.ts';
import type { ObjectStore } from '../core/storage/object-store.ts';
import { createDeps } from '../http/deps.ts';
import { createApp } from '../http/app.ts';
import type { AppEnv, Deps } from '../http/env.ts';
import { jsonLogger } from './logger.ts';
import { workerResponder } from './worker-body.ts';
import { WORKER_MIGRATIONS } from './worker-migrations.ts';
import { workerObjectStore } from './worker-store.ts';
import { attachWorkerWebhooks } from './worker-webhooks.ts';
import { parseWebhookSettings } from '../core/webhooks/settings.ts';
import { envStrings, type WorkerEnv } from './worker-env.ts';

/** The first admin's token, as a Worker secret. */
const ADMIN_TOKEN_SECRET = 'REGATE_ADMIN_TOKEN';

/** Why the Worker cannot serve; the message is safe to answer with (it names settings, never their values). */
export class WorkerStartupError extends Error {
  override name = 'WorkerStartupError';
}

export interface WorkerInstance {
  deps: Deps;
  app: Hono<AppEnv>;
}

/** Overrides for tests; a deployed Worker uses the defaults. */
export interface WorkerDepsOptions {
  clock?: Clock;
  logger?: Logger;
  timers?: Timers;
  download?: DownloadLimits;
  audit?: BatchingAuditOptions;
  /** Replaces the store chosen from the bindings (tests with a fault-injecting store). */
  objectStore?: ObjectStore;
  /**
   * Run a webhook delivery pass after each write request (default true). The in-process test harness turns it
   * off, as harness.ts on Node runs without the entry's dispatcher, so tests drive deliveries themselves.
   */
  webhooksAfterWrites?: boolean;
}

/** One JSON line per event on the console (`wrangler tail`, Workers Logs), at the console level of its own. */
function consoleLogger(clock: Clock): Logger {
  const at = (write: (line: string) => void) => jsonLogger(clock, (line) => write(line.trimEnd()));
  return { info: at(console.log).info, warn: at(console.warn).warn, error: at(console.error).error };
}

async function kekFrom(strings: Record<string, string>): Promise<CryptoKey> {
  const text = strings[KEK_ENV];
  if (text === undefined || text.trim() === '') {
    throw new WorkerStartupError(
      `${KEK_ENV} is not set: it seals the signing keys in D1. Set it once with \`openssl rand -base64 32 | wrangler secret put ${KEK_ENV}\` (locally: in .dev.vars).`,
    );
  }
  try {
    return await importKek(parseKek(text));
  } catch (e) {
    throw new WorkerStartupError(e instanceof Error ? e.message : String(e));
  }
}

/** @example const { app, deps } = await buildWorker(env) */
export async function buildWorker(env: WorkerEnv, opts: WorkerDepsOptions = {}): Promise<WorkerInstance> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? consoleLogger(clock);
  const strings = envStrings(env);
  if (!env.DB) throw new WorkerStartupError('No D1 database bound as DB (wrangler.toml [[d1_databases]] binding = "DB").');
  let config;
  try {
    config = parseConfig(strings);
    // Checked here, before anything is written; attached to deps below.
    parseWebhookSettings(strings);
  } catch (e) {
    throw new WorkerStartupError(e instanceof Error ? e.message : String(e));
  }
  const kek = await kekFrom(strings);
  const db = new D1Db(env.DB);
  await applyMigrations(db, [...WORKER_MIGRATIONS], clock.now());
  // A Worker has nowhere to show a generated token once: the first admin's token must come from the secret.
  const adminToken = strings[ADMIN_TOKEN_SECRET];
  if (adminToken === undefined) {
    const claimed = await db.prepare(`SELECT 1 AS x FROM meta WHERE key = 'first_admin'`).first();
    if (!claimed) {
      throw new WorkerStartupError(
        `${ADMIN_TOKEN_SECRET} is not set and this database has no admin yet: set the first admin's token with \`wrangler secret put ${ADMIN_TOKEN_SECRET}\` (locally: in .dev.vars).`,
      );
    }
  }
  let boot;
  try {
    boot = await bootstrap(db, clock, adminToken !== undefined ? { adminToken } : {});
  } catch (e) {
    throw e instanceof ConfigError ? new WorkerStartupError(e.message) : e;
  }
  if (boot.firstAdmin) logger.info('first_admin_created', { userName: boot.firstAdmin.userName, token: `from ${ADMIN_TOKEN_SECRET}` });
  let keyRing;
  try {
    keyRing = await openSqlKeyRing(db, clock, kek);
  } catch (e) {
    throw e instanceof KeyLoadError ? new WorkerStartupError(e.message) : e;
  }
  let objectStore;
  try {
    objectStore = opts.objectStore ?? workerObjectStore(env, strings);
  } catch (e) {
    throw e instanceof ConfigError ? new WorkerStartupError(e.message) : e;
  }
  const deps = createDeps({
    db,
    clock,
    config,
    logger,
    workspaceId: boot.workspaceId,
    objectStore,
    keyRing,
    timers: opts.timers ?? systemTimers,
    cache: <V extends object>(max: number) => createLruCache<V>({ max, clock }),
    ...(opts.download ? { download: opts.download } : {}),
    ...(opts.audit ? { audit: opts.audit } : {}),
    respondObject: workerResponder(),
  });
  // Registry webhooks from the REGATE_WEBHOOK_* vars (delivered by worker.ts after writes and on the cron).
  try {
    attachWorkerWebhooks(deps, env);
  } catch (e) {
    throw new WorkerStartupError(e instanceof Error ? e.message : String(e));
  }
  return { deps, app: createApp(deps) };
}
