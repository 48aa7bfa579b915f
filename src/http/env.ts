/**
 * @module env
 * The Hono environment: the dependencies every handler uses, and the per-request variables set by
 * middleware. Handlers read `c.var.deps`, never `c.env`.
 */
import type { Context } from 'hono';
import type { Clock, Logger, SqlDb } from '../core/ports.ts';
import type { Config } from '../core/config.ts';
import type { Principal } from '../core/identity/principal.ts';
import type { ObjectStore } from '../core/storage/object-store.ts';
import type { EpochSource } from '../core/access/epoch.ts';
import type { DataCache } from '../core/access/data-cache.ts';
import type { AnswerMemo } from './answer-memo.ts';
import type { AclCache } from '../core/access/acl-cache.ts';
import type { SharedKeyRing } from '../core/artifacts/key-ring.ts';
import type { Timers } from '../core/timers.ts';
import type { DownloadLimits } from '../core/artifacts/download-limits.ts';
import type { IdentityCache } from '../core/identity/identity-cache.ts';
import type { AuditSink } from '../core/audit.ts';
import type { Cache } from '../core/cache.ts';
import type { CryptoOps } from '../core/crypto-ops.ts';
import type { VerifiedToken } from '../core/artifacts/verified-tokens.ts';
import type { IssuedToken } from '../core/artifacts/issued-tokens.ts';
import type { ArtifactKeyResolver } from '../core/artifacts/download-access.ts';
import type { ObjectResponder } from '../core/artifacts/object-responder.ts';
import type { WebhookRuntime } from '../core/webhooks/settings.ts';

/** Everything a handler uses; built once per process (or isolate) by `createDeps`. Every member is required. */
export interface Deps {
  db: SqlDb;
  clock: Clock;
  config: Config;
  logger: Logger;
  /** The workspace id shown by /.well-known/databricks-config (decimal digits). */
  workspaceId: string;
  /** Artifact storage. */
  objectStore: ObjectStore;
  /** The current workspace epochs (the database each time, or the Node runtime's notice-checked copy). */
  epochs: EpochSource;
  /** Registry rows read under the current data epoch (models, versions, files). */
  rows: DataCache;
  /** Answers of hot GETs per caller and URL, while their epochs hold (answer-memo.ts). */
  answers: AnswerMemo;
  /** Cached permission decisions. */
  acl: AclCache;
  /** Cached tokens and principals. */
  identities: IdentityCache;
  /** Download-token signing keys, shared through the store. */
  keyRing: SharedKeyRing;
  /** Download tokens minted moments ago, handed out again to the same principal for the same object. */
  issuedTokens: Cache<IssuedToken>;
  /** Rendered list-artifacts pages of registered versions (immutable), by storage id, path and page. */
  listings: Cache<{ json: string }>;
  /** Download tokens already verified. */
  verifiedTokens: Cache<VerifiedToken>;
  /** Storage key of the object a verified download token names, or null when it no longer exists. */
  artifactKey: ArtifactKeyResolver;
  /** Denials, signed-URI issues, downloads and refused raw paths, written by group commit. */
  audit: AuditSink;
  /** Hashing and signing on the hot path (synchronous node:crypto on Node, Web Crypto elsewhere). */
  crypto: CryptoOps;
  /** Deadline timers (tests inject a manual scheduler). */
  timers: Timers;
  /** Download-route budgets. */
  download: Required<DownloadLimits>;
  /**
   * Writes a download's bytes: the runtime's own way (Node: a direct pipe into the socket) or the portable
   * guarded web stream (`respondWithStream`), which every runtime falls back to.
   */
  respondObject: ObjectResponder;
  /**
   * Registry webhook delivery (transport, SSRF allow-list, limits), set by the runtime entry. Optional: when
   * absent, webhooks use the portable fetch transport with no allow-list (core/webhooks/runtime-default.ts).
   */
  webhooks?: WebhookRuntime;
}

export interface AppEnv {
  /** Runtime bindings; only runtime entries read them (Node: `incoming`, the IncomingMessage). */
  Bindings: Record<string, unknown>;
  Variables: {
    deps: Deps;
    principal: Principal;
    requestId: string;
  };
}

export type Ctx = Context<AppEnv>;

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE' | 'HEAD';

/**
 * Who may reach a route, checked in one place (app.ts) before the handler runs:
 * `public` skips bearer authentication (the route carries its own credential check, e.g. a download token);
 * `token` (the default) needs a valid bearer token; `admin` needs a workspace admin's.
 */
export type AuthMode = 'public' | 'token' | 'admin';

/** One row of the route table. */
export interface Route {
  method: Method;
  path: string;
  handler: (c: Ctx) => Promise<Response> | Response;
  auth?: AuthMode;
}
