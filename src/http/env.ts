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
import type { AclCache } from '../core/access/acl-cache.ts';
import type { KeyRing } from '../core/artifacts/key-ring.ts';
import type { DownloadClaims } from '../core/artifacts/signed-url.ts';
import type { Timers } from '../core/timers.ts';
import type { DownloadLimits } from '../core/artifacts/download-limits.ts';

export interface Deps {
  db: SqlDb;
  clock: Clock;
  config: Config;
  logger: Logger;
  /** The workspace id shown by /.well-known/databricks-config (decimal digits). */
  workspaceId: string;
  /** Artifact storage; absent, versions record their source only and artifact routes answer 501. */
  objectStore?: ObjectStore;
  /** Cached permission decisions; absent, every check reads the grants. */
  acl?: AclCache;
  /** Download-token keys; absent, the download route answers 501. */
  keyRing?: KeyRing;
  /** Storage key of the object a verified download token names, or null when it no longer exists. */
  artifactKey?: (claims: DownloadClaims) => Promise<string | null>;
  /** Deadline timers of the download route (tests inject a manual scheduler); default: the runtime's. */
  timers?: Timers;
  /** Download-route budgets; defaults in src/http/routes/download.ts. */
  download?: DownloadLimits;
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

/** One row of the route table. `public` routes skip bearer authentication (they carry their own checks). */
export interface Route {
  method: Method;
  path: string;
  handler: (c: Ctx) => Promise<Response> | Response;
  public?: boolean;
}
