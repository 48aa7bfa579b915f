/**
 * @module settings
 * What a runtime hands the webhook code: the transport, the operator's allow-list, the limits of one send and
 * the retry schedule, parsed from REGATE_WEBHOOK_* settings (environment on Node, vars on Workers).
 */
import { parseAllowList, EMPTY_ALLOW_LIST, type AllowList } from './address-policy.ts';
import type { WebhookTransport } from './transport.ts';

/** Attempts per delivery, the first included: 30 s, 1, 2, 4, 8, 16, 32 min apart (about 63 min in all). */
export const DEFAULT_MAX_ATTEMPTS = 8;
export const DEFAULT_RETRY_BASE_MS = 30_000;
export const DEFAULT_TIMEOUT_MS = 10_000;
export const MAX_RESPONSE_BYTES = 64 * 1024;
export const DEFAULT_POLL_MS = 5_000;

export interface WebhookSettings {
  allow: AllowList;
  /** Whole exchange of one send: connect, headers and the (limited) body. */
  timeoutMs: number;
  maxResponseBytes: number;
  maxAttempts: number;
  retryBaseMs: number;
  /** How often a runtime's timer (Node) or cron (Workers) calls deliverDue. */
  pollMs: number;
}

export interface WebhookRuntime extends WebhookSettings {
  transport: WebhookTransport;
}

export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = {
  allow: EMPTY_ALLOW_LIST,
  timeoutMs: DEFAULT_TIMEOUT_MS,
  maxResponseBytes: MAX_RESPONSE_BYTES,
  maxAttempts: DEFAULT_MAX_ATTEMPTS,
  retryBaseMs: DEFAULT_RETRY_BASE_MS,
  pollMs: DEFAULT_POLL_MS,
};

function seconds(env: Record<string, string | undefined>, name: string, fallbackMs: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallbackMs;
  const n = /^[0-9]+(\.[0-9]+)?$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw new Error(`${name} must be a number of seconds from ${min} to ${max}, got '${raw}'.`);
  return Math.round(n * 1000);
}

/**
 * REGATE_WEBHOOK_ALLOW_HOSTS (host names, addresses, CIDRs), REGATE_WEBHOOK_TIMEOUT_SECONDS (1–30, default 10),
 * REGATE_WEBHOOK_MAX_ATTEMPTS (1–20, default 8), REGATE_WEBHOOK_RETRY_BASE_SECONDS (default 30),
 * REGATE_WEBHOOK_POLL_SECONDS (default 5). A bad value throws, naming the variable.
 */
export function parseWebhookSettings(env: Record<string, string | undefined>): WebhookSettings {
  const attemptsRaw = env.REGATE_WEBHOOK_MAX_ATTEMPTS;
  const attempts = attemptsRaw === undefined || attemptsRaw === '' ? DEFAULT_MAX_ATTEMPTS : /^[0-9]{1,2}$/.test(attemptsRaw) ? Number(attemptsRaw) : NaN;
  if (!(attempts >= 1 && attempts <= 20)) throw new Error(`REGATE_WEBHOOK_MAX_ATTEMPTS must be an integer from 1 to 20, got '${attemptsRaw}'.`);
  return {
    allow: parseAllowList(env.REGATE_WEBHOOK_ALLOW_HOSTS),
    timeoutMs: seconds(env, 'REGATE_WEBHOOK_TIMEOUT_SECONDS', DEFAULT_TIMEOUT_MS, 1, 30),
    maxResponseBytes: MAX_RESPONSE_BYTES,
    maxAttempts: attempts,
    retryBaseMs: seconds(env, 'REGATE_WEBHOOK_RETRY_BASE_SECONDS', DEFAULT_RETRY_BASE_MS, 1, 3600),
    pollMs: seconds(env, 'REGATE_WEBHOOK_POLL_SECONDS', DEFAULT_POLL_MS, 0.1, 3600),
  };
}

/** Wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed. @example retryDelayMs(s, 1) // 30000 */
export function retryDelayMs(s: Pick<WebhookSettings, 'retryBaseMs'>, attempt: number): number {
  return s.retryBaseMs * 2 ** Math.max(0, attempt - 1);
}
