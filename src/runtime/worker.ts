/**
 * @module worker
 * The Cloudflare Workers entry (wrangler.toml `main`): the same Hono app as on Node, built from the Worker's
 * bindings by worker-deps.ts.
 *
 * Per isolate, once: the dependencies (caches, key ring, audit sink) are built lazily by the first request and
 * kept for the isolate's life, so migrations and bootstrap run once per isolate, not per request. A start that
 * fails is not kept: the next request tries again (a secret set meanwhile takes effect without a redeploy of
 * code). Until it succeeds every request is answered 503 `TEMPORARILY_UNAVAILABLE` with what to fix.
 *
 * After the response: a Worker's timers do not run once it has answered (nothing keeps the isolate working for
 * that request), so the audit group commit's 100 ms timer cannot be relied on. Every request hands
 * `ctx.waitUntil` a flush of the audit rows, after whatever the response still does (a download body's pipe,
 * worker-body.ts): the download row, recorded when the body ends, is written even when the client disconnected.
 *
 * Registry webhooks (worker-webhooks.ts): a delivery pass after every write request, through `waitUntil`.
 * `scheduled` (a Cron Trigger every minute, wrangler.toml) runs the deliveries due (retries) and expires uploads
 * that were never registered.
 */
import { GatewayError } from '../core/errors.ts';
import { expireUploads } from '../core/artifacts/uploads.ts';
import { errorResponse } from '../http/respond.ts';
import { deliverFromWorker } from './worker-webhooks.ts';
import { buildWorker, WorkerStartupError, type WorkerDepsOptions, type WorkerInstance } from './worker-deps.ts';
import type { WorkerBindings } from './worker-body.ts';
import type { WorkerContext, WorkerEnv } from './worker-env.ts';

export interface WorkerHandler {
  fetch(request: Request, env: WorkerEnv, ctx: WorkerContext): Promise<Response>;
  /** The Cron Trigger (wrangler.toml `[triggers]`): due webhook deliveries, and expired uploads off the request path. */
  scheduled(controller: unknown, env: WorkerEnv, ctx: WorkerContext): Promise<void>;
  /** The isolate's instance (built on first use); for tests and tools. */
  instance(env: WorkerEnv): Promise<WorkerInstance>;
}

function startupFailure(e: unknown): Response {
  if (e instanceof WorkerStartupError) return errorResponse(new GatewayError('TEMPORARILY_UNAVAILABLE', `regate cannot start: ${e.message}`));
  console.error(JSON.stringify({ level: 'error', event: 'worker_start_failed', error: String(e), stack: e instanceof Error ? e.stack : undefined }));
  return errorResponse(new GatewayError('TEMPORARILY_UNAVAILABLE', 'regate could not start (see the Worker logs); retry shortly.', { 'Retry-After': '1' }));
}

/** A Worker handler with its own per-isolate instance. @example export default createWorker() */
export function createWorker(opts: WorkerDepsOptions = {}): WorkerHandler {
  let building: Promise<WorkerInstance> | undefined;
  const instance = (env: WorkerEnv): Promise<WorkerInstance> =>
    (building ??= buildWorker(env, opts).catch((e: unknown) => {
      building = undefined;
      throw e;
    }));

  return {
    instance,
    async fetch(request, env, ctx) {
      let w: WorkerInstance;
      try {
        w = await instance(env);
      } catch (e) {
        return startupFailure(e);
      }
      const after: Promise<unknown>[] = [];
      const bindings: WorkerBindings = { requestSignal: request.signal, afterResponse: (work) => void after.push(work) };
      try {
        return await w.app.fetch(request, bindings as unknown as Record<string, unknown>);
      } finally {
        // The response's own remaining work first (a body still streaming), then the audit rows it recorded.
        ctx.waitUntil(Promise.allSettled(after).then(() => w.deps.audit.flush()));
        // A write may have queued registry webhooks: send them now rather than at the next cron run.
        if (opts.webhooksAfterWrites !== false && request.method !== 'GET' && request.method !== 'HEAD') ctx.waitUntil(deliverFromWorker(w.deps));
      }
    },
    async scheduled(_controller, env, ctx) {
      // Uploads never registered are also expired by the next upload, but there the deletes count against that
      // request's subrequests (50 on the Free plan); here, a batch at a time, they rarely pile up.
      const { deps } = await instance(env);
      // Webhook deliveries due (retries with backoff, and anything a request's own pass left).
      ctx.waitUntil(deliverFromWorker(deps));
      const expired = await expireUploads(deps);
      if (expired > 0) deps.logger.info('uploads_expired', { count: expired });
      ctx.waitUntil(deps.audit.flush());
    },
  };
}

const worker = createWorker();

export default {
  fetch: (request: Request, env: WorkerEnv, ctx: WorkerContext): Promise<Response> => worker.fetch(request, env, ctx),
  scheduled: (controller: unknown, env: WorkerEnv, ctx: WorkerContext): Promise<void> => worker.scheduled(controller, env, ctx),
};
