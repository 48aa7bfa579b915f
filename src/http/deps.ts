/**
 * @module deps
 * `createDeps`: the one place the app's dependencies are assembled from what a runtime supplies (its ports).
 * Node (src/runtime/node-deps.ts) and Workers pass their adapters; everything built on top of them (caches,
 * the audit sink, the download resolver) is built here the same way for both.
 */
import type { Clock, Logger, SqlDb } from '../core/ports.ts';
import type { Config } from '../core/config.ts';
import type { Cache } from '../core/cache.ts';
import type { ObjectStore } from '../core/storage/object-store.ts';
import type { SharedKeyRing } from '../core/artifacts/key-ring.ts';
import type { Timers } from '../core/timers.ts';
import { AclCache, type AclEntry } from '../core/access/acl-cache.ts';
import { DATA_ENTRIES, DataCache, type DataEntry } from '../core/access/data-cache.ts';
import { readEpochs, type EpochSource } from '../core/access/epoch.ts';
import { IdentityCache, type PrincipalEntry, type TokenEntry } from '../core/identity/identity-cache.ts';
import { BatchingAuditSink, type AuditSink, type BatchingAuditOptions } from '../core/audit.ts';
import { createArtifactKeyResolver } from '../core/artifacts/download-access.ts';
import { DEFAULT_IDLE_MS, DEFAULT_TTFB_MS, type DownloadLimits } from '../core/artifacts/download-limits.ts';
import { MAX_TTL_SECONDS } from '../core/artifacts/signed-url.ts';
import type { VerifiedToken } from '../core/artifacts/verified-tokens.ts';
import type { IssuedToken } from '../core/artifacts/issued-tokens.ts';
import { respondWithStream, type ObjectResponder } from '../core/artifacts/object-responder.ts';
import type { Deps } from './env.ts';
import { AnswerMemo, MEMO_ENTRIES, type MemoAnswer } from './answer-memo.ts';
import { webCryptoOps, type CryptoOps } from '../core/crypto-ops.ts';

export interface RuntimePorts {
  db: SqlDb;
  clock: Clock;
  logger: Logger;
  config: Config;
  workspaceId: string;
  /** Where requests get the epochs; default: one statement per request. */
  epochs?: EpochSource;
  objectStore: ObjectStore;
  keyRing: SharedKeyRing;
  timers: Timers;
  /** Hashing and signing; default Web Crypto. */
  crypto?: CryptoOps;
  /** A bounded, expiring cache of `max` entries (lru-cache on Node and Workers). */
  cache<V extends object>(max: number): Cache<V>;
  /** Overrides of the download budgets (tests). */
  download?: DownloadLimits;
  /** Overrides of the audit group commit (tests). */
  audit?: BatchingAuditOptions;
  /** The audit sink, when the runtime brings its own (Node, file database: ThreadedAuditSink); default the in-thread group commit on `db`. */
  auditSink?: AuditSink;
  /** The runtime's way of writing a download body; default: the portable guarded web stream. */
  respondObject?: ObjectResponder;
}

/** Entries per cache: far above a workspace's principals × hot models, far below what fits in memory. */
export const CACHE_ENTRIES = 100_000;
/** Rendered list-artifacts pages kept: a page holds at most 10,000 entries (~1 MB), so at most ~64 MB. */
export const LISTING_PAGES = 64;

/** @example const deps = createDeps({ db, clock, logger, config, workspaceId, objectStore, keyRing, timers, cache }) */
export function createDeps(p: RuntimePorts): Deps {
  const acl = new AclCache(p.cache<AclEntry>(CACHE_ENTRIES));
  const rows = new DataCache(p.cache<DataEntry>(DATA_ENTRIES));
  const crypto = p.crypto ?? webCryptoOps;
  const identities = new IdentityCache(p.cache<TokenEntry>(CACHE_ENTRIES), p.cache<PrincipalEntry>(CACHE_ENTRIES), p.clock, crypto.sha256Hex);
  const audit = p.auditSink ?? new BatchingAuditSink(p.db, p.clock, p.timers, p.logger, p.audit);
  return {
    db: p.db,
    clock: p.clock,
    config: p.config,
    logger: p.logger,
    workspaceId: p.workspaceId,
    objectStore: p.objectStore,
    epochs: p.epochs ?? (() => readEpochs(p.db)),
    rows,
    answers: new AnswerMemo(p.cache<MemoAnswer>(MEMO_ENTRIES), p.clock),
    acl,
    identities,
    keyRing: p.keyRing,
    verifiedTokens: p.cache<VerifiedToken>(CACHE_ENTRIES),
    issuedTokens: p.cache<IssuedToken>(CACHE_ENTRIES),
    listings: p.cache<{ json: string }>(LISTING_PAGES),
    artifactKey: createArtifactKeyResolver({ db: p.db, acl, identities, audit, rows }),
    audit,
    timers: p.timers,
    crypto,
    download: {
      ttfbMs: p.download?.ttfbMs ?? DEFAULT_TTFB_MS,
      idleMs: p.download?.idleMs ?? DEFAULT_IDLE_MS,
      maxTtlSeconds: Math.min(p.download?.maxTtlSeconds ?? p.config.signedUriTtlSeconds, MAX_TTL_SECONDS),
    },
    respondObject: p.respondObject ?? respondWithStream,
  };
}
