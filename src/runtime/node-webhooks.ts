/**
 * @module node-webhooks
 * Webhook delivery in the Node process: the Node transport (DNS-checked, node-webhook-transport.ts) and a timer
 * that calls the portable `deliverDue` every REGATE_WEBHOOK_POLL_SECONDS (default 5 s), one run at a time,
 * repeating at once while runs come back full. Started by the Node entry (node.ts); the timer is unref'd.
 * Any number of processes over one database may run it: the outbox lease gives each row to one sender.
 */
import type { Clock, Logger, SqlDb } from '../core/ports.ts';
import { systemTimers, type Timers } from '../core/timers.ts';
import { CLAIM_LIMIT, deliverDue, type DeliverSummary } from '../core/webhooks/deliver.ts';
import { parseWebhookSettings, type WebhookRuntime } from '../core/webhooks/settings.ts';
import { nodeWebhookTransport, systemResolver, type Resolver } from './node-webhook-transport.ts';

export interface NodeWebhooks {
  runtime: WebhookRuntime;
  /** One pass: deliverDue until a call claims less than a full batch (at most 10 calls). */
  runOnce(): Promise<DeliverSummary>;
  stop(): void;
}

export interface NodeWebhookOptions {
  /** Timers of the sends' time limits (tests: manual). */
  timers?: Timers;
  resolver?: Resolver;
  /** Start the periodic timer (default true). */
  poll?: boolean;
}

/** Parses the REGATE_WEBHOOK_* settings (a bad one throws, naming it) and starts the timer. */
export function startNodeWebhooks(deps: { db: SqlDb; clock: Clock; logger: Logger }, env: Record<string, string | undefined>, opts: NodeWebhookOptions = {}): NodeWebhooks {
  const settings = parseWebhookSettings(env);
  const runtime: WebhookRuntime = { ...settings, transport: nodeWebhookTransport(settings.allow, opts.timers ?? systemTimers, opts.resolver ?? systemResolver) };
  const d = { ...deps, webhooks: runtime };
  let running: Promise<DeliverSummary> | null = null;
  const pass = async (): Promise<DeliverSummary> => {
    const total: DeliverSummary = { claimed: 0, delivered: 0, retry: 0, failed: 0, skipped: 0 };
    for (let i = 0; i < 10; i++) {
      const s = await deliverDue(d, deps.clock.now());
      for (const k of Object.keys(total) as Array<keyof DeliverSummary>) total[k] += s[k];
      if (s.claimed < CLAIM_LIMIT) break;
    }
    return total;
  };
  const runOnce = () => {
    running ??= pass().finally(() => {
      running = null;
    });
    return running;
  };
  let timer: ReturnType<typeof setInterval> | undefined;
  if (opts.poll !== false) {
    timer = setInterval(() => {
      runOnce().catch((e: unknown) => deps.logger.warn('webhook_delivery_failed', { error: e instanceof Error ? e.message : String(e) }));
    }, settings.pollMs);
    timer.unref();
  }
  return { runtime, runOnce, stop: () => clearInterval(timer) };
}
