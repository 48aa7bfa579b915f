/**
 * @module runtime-default
 * Webhook runtimes over the portable fetch transport. `portableWebhookRuntime(env, timers)` is what a Worker
 * uses (REGATE_WEBHOOK_* from its vars; fetch cannot resolve names, so only the URL's host is checked: see
 * transport.ts). `defaultWebhookRuntime` is what the routes use when the runtime entry wired none: no
 * allow-list, default limits, the strictest setting, so a missing wiring can only refuse, never widen.
 */
import type { Timers } from '../timers.ts';
import { DEFAULT_WEBHOOK_SETTINGS, parseWebhookSettings, type WebhookRuntime, type WebhookSettings } from './settings.ts';
import { fetchTransport } from './transport.ts';

function over(settings: WebhookSettings, timers: Timers): WebhookRuntime {
  return { ...settings, transport: fetchTransport((input, init) => globalThis.fetch(input, init), timers) };
}

/**
 * @example
 * // worker.ts: deps.webhooks = portableWebhookRuntime(env, systemTimers);
 * // scheduled(_e, env, ctx) { ctx.waitUntil(deliverDue({ db, clock, logger, webhooks: deps.webhooks }, Date.now())) }
 */
export function portableWebhookRuntime(env: Record<string, string | undefined>, timers: Timers): WebhookRuntime {
  return over(parseWebhookSettings(env), timers);
}

/** @example const rt = deps.webhooks ?? defaultWebhookRuntime(deps.timers) */
export function defaultWebhookRuntime(timers: Timers): WebhookRuntime {
  return over(DEFAULT_WEBHOOK_SETTINGS, timers);
}
