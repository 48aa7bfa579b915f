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
