/**
 * @module app
 * Builds the Hono app from the route table. Every request passes the same chain (one middleware): request id,
 * path guard, authentication (skipped only for routes marked public), the route's admin check (routes marked
 * admin), then the handler. Errors of every kind leave as `{error_code, message}` JSON, and every refusal (a `Refusal` from
 * the permission gate, or any PERMISSION_DENIED) is recorded in the audit trail here, once.
 */
import { Hono, type Context } from 'hono';
import { GatewayError, Refusal, denied } from '../core/errors.ts';
import { SqlError, sqlErrorToGateway } from '../core/sql-errors.ts';
import type { AppEnv, Deps, Route } from './env.ts';
import { errorResponse } from './respond.ts';
import { checkTarget, rawPath } from './middleware/path-guard.ts';
import { authenticate } from './middleware/authenticate.ts';
import { ROUTES } from './routes/index.ts';

function publicKey(method: string, path: string): string {
  return `${method} ${path}`;
}

/** @example const app = createApp(deps); await app.request('/api/2.0/preview/scim/v2/Me', { headers }) */
export interface AppOptions {
  routes?: readonly Route[];
  /** The raw request target (path and query as sent), where the runtime keeps it. */
  rawTarget?: (c: Context<AppEnv>) => string | undefined;
}

export function createApp(deps: Deps, opts: AppOptions = {}): Hono<AppEnv> {
  const routes = opts.routes ?? ROUTES;
  const app = new Hono<AppEnv>();
  // Public routes are matched on the exact method and raw path, not on what the router matched, so no
  // path variant can borrow a public route's exemption.
  const publicRoutes = new Set(routes.filter((r) => r.auth === 'public').map((r) => publicKey(r.method, r.path)));

  // One middleware, not three: each step of Hono's chain costs an async frame on every request.
  app.use('*', async (c, next) => {
    c.set('deps', deps);
    c.set('requestId', crypto.randomUUID());
    checkTarget(c, opts.rawTarget);
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
    const path = rawPath(c.req.url);
    if (!publicRoutes.has(publicKey(method, path)) && !publicRoutes.has(publicKey(c.req.method, path))) {
      c.set('principal', await authenticate(deps, c.req.header('Authorization')));
    }
    await next();
  });

  for (const r of routes) {
    if (r.auth === 'admin') {
      app.on(r.method, r.path, (c) => {
        if (!c.var.principal.isAdmin) throw denied('Only workspace admins may call this API.');
        return r.handler(c);
      });
    } else {
      app.on(r.method, r.path, (c) => r.handler(c));
    }
  }

  app.notFound((c) =>
    errorResponse(new GatewayError('ENDPOINT_NOT_FOUND', `No API found for '${c.req.method} ${rawPath(c.req.url)}'`)),
  );
  app.onError((err, c) => {
    if (err instanceof GatewayError) {
      recordRefusal(c, err);
      return errorResponse(err);
    }
    // A held lock (503 + Retry-After) or a full disk (507): the caller's answer, not a bug of ours.
    if (err instanceof SqlError) {
      deps.logger.warn('database_unavailable', { requestId: c.get('requestId'), kind: err.kind });
      return errorResponse(sqlErrorToGateway(err));
    }
    deps.logger.error('unhandled_error', { requestId: c.get('requestId'), error: String(err), stack: err.stack });
    return errorResponse(new GatewayError('INTERNAL_ERROR', `Internal error (request ${c.get('requestId')}).`));
  });
  return app;
}

/** Records a refusal in the audit trail (never a token: messages of GatewayErrors hold none). */
function recordRefusal(c: Context<AppEnv>, err: GatewayError): void {
  if (!(err instanceof Refusal) && err.code !== 'PERMISSION_DENIED') return;
  const principal = c.get('principal') as AppEnv['Variables']['principal'] | undefined;
  const r = err instanceof Refusal ? err.record : { action: 'denied' as const, detail: `${c.req.method} ${rawPath(c.req.url)}: ${err.message}` };
  c.var.deps.audit.record({
    principalId: principal?.id ?? null,
    action: r.action,
    modelId: r.modelId ?? null,
    path: r.path ?? null,
    status: err.status,
    detail: r.detail,
  });
}
