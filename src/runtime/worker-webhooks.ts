/**
 * @module worker-webhooks
 * Registry webhooks on Workers, as two calls for the Worker entry (worker.ts) to make. `attachWorkerWebhooks`
 * sets `deps.webhooks` from the REGATE_WEBHOOK_* vars (the portable fetch transport: only the URL's host is
 * checked, as a Worker's fetch cannot resolve names), once per isolate; a bad var throws, naming it.
 * `deliverFromWorker` runs one `deliverDue` pass: from the cron `scheduled` handler (wrangler.toml
 * `[triggers] crons`), and with `ctx.waitUntil` after a registry write so deliveries leave within seconds. A
 * Worker's timers stop once it has answered, so neither relies on one; the outbox lease keeps concurrent
 * isolates from sending a row twice at once.
 *
 * Wiring: worker-deps.ts attaches once, when it builds the isolate's instance; worker.ts delivers with
 * `ctx.waitUntil(deliverFromWorker(w.deps))` after a write request and in `scheduled`.
 */
import type { Deps } from '../http/env.ts';
import { deliverDue, type DeliverSummary } from '../core/webhooks/deliver.ts';
import { portableWebhookRuntime } from '../core/webhooks/runtime-default.ts';
import { systemTimers } from '../core/timers.ts';
import { envStrings, type WorkerEnv } from './worker-env.ts';

/** Sets deps.webhooks from the Worker's vars unless already set. @example attachWorkerWebhooks(w.deps, env) */
export function attachWorkerWebhooks(deps: Deps, env: WorkerEnv): void {
  deps.webhooks ??= portableWebhookRuntime(envStrings(env), systemTimers);
}

/** One delivery pass; failures are logged, never thrown into the request or the cron run. */
export async function deliverFromWorker(deps: Deps): Promise<DeliverSummary | null> {
  if (!deps.webhooks) return null;
  try {
    return await deliverDue({ db: deps.db, clock: deps.clock, logger: deps.logger, webhooks: deps.webhooks }, deps.clock.now());
  } catch (e) {
    deps.logger.warn('webhook_delivery_failed', { error: e instanceof Error ? e.message : String(e) });
    return null;
  }
}
