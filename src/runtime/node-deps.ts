/**
 * @module node-deps
 * Builds the Node dependencies on the embedded default: a SQLite file and (later) local artifact storage
 * under one data directory, created on first start. Shared by the Node entry and the tests.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteDb } from '../adapters/sqlite/sqlite-db.ts';
import { EpochNotice } from '../adapters/sqlite/epoch-notice.ts';
import { applyMigrations, type Migration } from '../core/migrate.ts';
import { bootstrap, type BootstrapResult } from '../core/bootstrap.ts';
import { parseConfig } from '../core/config.ts';
import { systemClock } from '../core/clock.ts';
import type { Clock, Logger } from '../core/ports.ts';
import type { Deps } from '../http/env.ts';
import { jsonLogger } from './logger.ts';
import { nodeResponder } from './node-body.ts';
import { FsObjectStore } from '../adapters/fs/fs-object-store.ts';
import { MemoryObjectStore } from '../adapters/memory/memory-object-store.ts';
import { makeS3Client, parseS3Config } from '../adapters/s3/s3-config.ts';
import { S3ObjectStore } from '../adapters/s3/s3-object-store.ts';
import { createLruCache } from '../adapters/lru/lru-cache.ts';
import { openNodeKeyRing } from '../adapters/fs/fs-key-ring.ts';
import { createDeps } from '../http/deps.ts';
import { nodeCryptoOps } from './node-crypto.ts';
import { systemTimers, type Timers } from '../core/timers.ts';
import { openSqlKeyRing, type SqlKeyRing } from '../core/artifacts/sql-key-ring.ts';
import { ephemeralKek, kekFromEnv } from '../core/artifacts/kek.ts';
import type { DownloadLimits } from '../core/artifacts/download-limits.ts';
import { BatchingAuditSink, type BatchingAuditOptions } from '../core/audit.ts';
import { startAuditThread, ThreadedAuditSink } from './node-audit-thread.ts';
import { isSweepable, startSweeps, sweepSettings, type Sweeps } from './node-sweeps.ts';
import { upgradeLegacyEtags } from './legacy-etags.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((name) => ({ name, sql: readFileSync(join(dir, name), 'utf8') }));
}

export interface NodeDepsOptions {
  /** Data directory; ':memory:' keeps everything in memory (tests). */
  dataDir: string;
  env?: Record<string, string | undefined>;
  clock?: Clock;
  logger?: Logger;
  timers?: Timers;
  /** Overrides of the download budgets (tests). */
  download?: DownloadLimits;
  /** Overrides of the audit group commit (tests). */
  audit?: BatchingAuditOptions;
}

export async function createNodeDeps(
  opts: NodeDepsOptions,
): Promise<{ deps: Deps; boot: BootstrapResult; db: SqliteDb; keyRing: SqlKeyRing; close: () => Promise<void>; sweeps?: Sweeps }> {
  const env = opts.env ?? {};
  const clock = opts.clock ?? systemClock;
  const config = parseConfig(env);
  let dbPath = ':memory:';
  if (opts.dataDir !== ':memory:') {
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    dbPath = join(opts.dataDir, 'regate.sqlite');
  }
  const db = new SqliteDb(dbPath);
  await applyMigrations(db, readMigrations(), clock.now());
  const boot = await bootstrap(db, clock, env.REGATE_ADMIN_TOKEN !== undefined ? { adminToken: env.REGATE_ADMIN_TOKEN } : {});
  // Artifacts in the S3 bucket when REGATE_S3_BUCKET is set; else the embedded default: <dataDir>/artifacts, or
  // memory when the database is.
  const s3 = parseS3Config(env);
  const objectStore = s3
    ? new S3ObjectStore({ client: makeS3Client(s3), bucket: s3.bucket })
    : opts.dataDir === ':memory:'
      ? new MemoryObjectStore({ clock })
      : new FsObjectStore(join(opts.dataDir, 'artifacts'));
  // Signing keys in the database, shared by every instance over it; sealed with the KEK (an in-memory database
  // gets a random one unless REGATE_KEY_ENCRYPTION_KEY is set).
  const keyRing =
    opts.dataDir === ':memory:'
      ? await openSqlKeyRing(db, clock, (await kekFromEnv(env)) ?? (await ephemeralKek()))
      : await openNodeKeyRing(db, opts.dataDir, { clock, env });
  const logger = opts.logger ?? jsonLogger(clock);
  const timers = opts.timers ?? systemTimers;
  // Audit rows committed by a worker thread with its own connection (node-audit-thread.ts): the INSERTs, their
  // WAL writes and checkpoints stay off the event loop. The in-thread group commit on `db` is its fallback, and
  // the sink itself for ':memory:' (another connection would see another database).
  const inThread = new BatchingAuditSink(db, clock, timers, logger, opts.audit);
  const auditSink =
    dbPath === ':memory:'
      ? inThread
      : startAuditThread({ dbPath, clock, logger, timers, fallback: inThread, ...(opts.audit?.maxBuffered ? { options: { maxBuffered: opts.audit.maxBuffered } } : {}) });
  // The epochs from memory, announced through a notice file beside the database (epoch-notice.ts); a database in
  // memory has no other instance, and reads them per request.
  const notice = dbPath === ':memory:' ? undefined : new EpochNotice(db, `${dbPath}-epochs`, clock, logger);
  const deps = createDeps({
    db,
    clock,
    config,
    logger,
    ...(notice ? { epochs: notice.read } : {}),
    workspaceId: boot.workspaceId,
    objectStore,
    keyRing,
    timers,
    auditSink,
    crypto: nodeCryptoOps,
    cache: <V extends object>(max: number) => createLruCache<V>({ max, clock }),
    ...(opts.download ? { download: opts.download } : {}),
    ...(opts.audit ? { audit: opts.audit } : {}),
    // Download bodies go straight from the fs stream into the socket (falls back to web streams in-process).
    respondObject: nodeResponder(),
  });
  // A data directory may hold what a crash left (partial uploads, files of deleted versions): swept now, before
  // serving, and periodically (node-sweeps.ts). In memory nothing outlives the process.
  if (objectStore instanceof FsObjectStore) await upgradeLegacyEtags(db, objectStore, deps.logger);
  // On S3 the sweeps also abort multipart uploads a crash left open (they are billed until aborted).
  const sweeps = isSweepable(objectStore) ? await startSweeps({ store: objectStore, db, clock, logger: deps.logger }, sweepSettings(env)) : undefined;
  /** Stops what runs beside the requests (sweeps, the audit thread after writing its rows) and closes the files. */
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    sweeps?.stop();
    if (auditSink instanceof ThreadedAuditSink) await auditSink.close();
    else await auditSink.flush();
    notice?.close();
    db.close();
  };
  return { deps, boot, db, keyRing, close, ...(sweeps ? { sweeps } : {}) };
}
