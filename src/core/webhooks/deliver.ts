/**
 * @module deliver
 * The portable delivery loop. A runtime calls `deliverDue(deps, now)`: Node on a timer
 * (runtime/node-webhooks.ts), a Worker from its cron `scheduled` handler and after a write via `waitUntil`.
 * Each call claims the due outbox rows with one UPDATE … RETURNING (a lease, so two instances never send one row
 * at once, and a sender that dies leaves the row to be sent again: at-least-once, with `X-Regate-Delivery` as
 * the receiver's de-duplication key), sends each, and records the outcome in `webhook_deliveries` in the same
 * batch that deletes or reschedules the row.
 *
 * Before each send: the webhook must still exist and be ACTIVE (TEST_MODE and DISABLED webhooks get nothing
 * here; /test sends on its own), its owner must still be an active principal that can read the event's model
 * (a webhook never carries what its owner could not read), and its URL must pass the SSRF guard with the
 * allow-list in force now. A non-2xx answer, a timeout or a network error is retried after 30 s, 1, 2, 4, 8, 16
 * and 32 min (settings.ts); after the last attempt the row is dropped as `failed`.
 */
import type { Clock, Logger, SqlDb, SqlStatement } from '../ports.ts';
import { loadPrincipal } from '../identity/store.ts';
import { effectiveLevel } from '../access/resolve.ts';
import { rank } from '../access/levels.ts';
import { checkWebhookUrl } from './address-policy.ts';
import { signBody, SIGNATURE_HEADER } from './signature.ts';
import { DeliveryError, type WebhookResponse } from './transport.ts';
import { retryDelayMs, type WebhookRuntime } from './settings.ts';
import { webhookById, type WebhookRow } from './rows.ts';

export interface DeliverDeps {
  db: SqlDb;
  clock: Clock;
  logger: Logger;
  webhooks: WebhookRuntime;
}

/** Rows claimed per call: within a Worker invocation's subrequest budget. */
export const CLAIM_LIMIT = 32;
/** Sends in flight at once within a call. */
const PARALLEL = 4;

interface OutboxRow {
  id: string;
  webhook_id: string;
  event: string;
  model_id: string | null;
  payload: string;
  attempts: number;
}

export type Outcome = 'delivered' | 'retry' | 'failed' | 'skipped';

export interface DeliverSummary {
  claimed: number;
  delivered: number;
  retry: number;
  failed: number;
  skipped: number;
}

/** Claims and sends every due row (up to CLAIM_LIMIT). @example await deliverDue(deps, clock.now()) */
export async function deliverDue(deps: DeliverDeps, now: number): Promise<DeliverSummary> {
  const lease = now + deps.webhooks.timeoutMs + 60_000;
  const rows = await deps.db
    .prepare(
      `UPDATE webhook_outbox SET attempts = attempts + 1, lease_until = ?1
       WHERE id IN (SELECT id FROM webhook_outbox WHERE next_attempt_at <= ?2 AND lease_until <= ?2 ORDER BY next_attempt_at LIMIT ?3)
       RETURNING id, webhook_id, event, model_id, payload, attempts`,
    )
    .bind(lease, now, CLAIM_LIMIT)
    .all<OutboxRow>();
  const summary: DeliverSummary = { claimed: rows.length, delivered: 0, retry: 0, failed: 0, skipped: 0 };
  const queue = [...rows];
  const worker = async () => {
    for (let r = queue.shift(); r; r = queue.shift()) {
      let outcome: Outcome;
      try {
        outcome = await deliverOne(deps, r);
      } catch (e) {
        // A database error while recording: the lease expires and the row is sent again.
        deps.logger.warn('webhook_delivery_error', { outboxId: r.id, error: e instanceof Error ? e.message : String(e) });
        continue;
      }
      summary[outcome]++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, rows.length) }, worker));
  return summary;
}

/** Why the webhook's owner may not receive an event about `modelId`, or null when it may. */
async function ownerRefusal(db: SqlDb, w: WebhookRow, modelId: string | null): Promise<string | null> {
  const owner = await loadPrincipal(db, w.owner_id);
  if (!owner) return 'the webhook owner is deactivated or deleted';
  if (modelId === null) return owner.isAdmin ? null : 'the webhook owner is no longer an admin';
  const model = await db.prepare('SELECT 1 AS x FROM registered_models WHERE id = ?').bind(modelId).first();
  if (!model) return 'the model no longer exists';
  const level = await effectiveLevel(db, owner, modelId);
  return rank(level) >= rank('CAN_READ') ? null : 'the webhook owner can no longer read the model';
}

/** The request a delivery sends: Databricks' body, its signature and the webhook's Authorization value. */
export async function deliveryRequest(w: WebhookRow, event: string, payload: Record<string, unknown>, deliveryId: string) {
  const body = JSON.stringify({ event, webhook_id: w.id, ...payload });
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': 'regate-webhooks/1',
    'X-Regate-Delivery': deliveryId,
  };
  if (w.secret !== '') headers[SIGNATURE_HEADER] = await signBody(w.secret, body);
  if (w.auth_header !== '') headers.Authorization = w.auth_header;
  return { headers, body };
}

export interface SendResult {
  ok: boolean;
  /** The failure is one a retry cannot fix (a refused address). */
  permanent: boolean;
  response?: WebhookResponse;
  detail: string;
  durationMs: number;
}

/** Checks the URL against the guard in force now, then sends once. */
export async function sendOnce(deps: Pick<DeliverDeps, 'clock' | 'webhooks'>, w: WebhookRow, headers: Record<string, string>, body: string): Promise<SendResult> {
  const started = deps.clock.now();
  const check = checkWebhookUrl(w.url, deps.webhooks.allow);
  if (!check.ok) return { ok: false, permanent: true, detail: `refused: the URL ${check.reason}`, durationMs: 0 };
  try {
    const response = await deps.webhooks.transport.send(
      { url: check.url, headers, body, verifyTls: w.enable_ssl_verification === 1 },
      { timeoutMs: deps.webhooks.timeoutMs, maxResponseBytes: deps.webhooks.maxResponseBytes },
    );
    const ok = response.status >= 200 && response.status < 300;
    return { ok, permanent: false, response, detail: ok ? '' : `HTTP ${response.status}`, durationMs: deps.clock.now() - started };
  } catch (e) {
    if (!(e instanceof DeliveryError)) throw e;
    return { ok: false, permanent: e.kind === 'refused', detail: `${e.kind}: ${e.message}`, durationMs: deps.clock.now() - started };
  }
}

async function deliverOne(deps: DeliverDeps, r: OutboxRow): Promise<Outcome> {
  const db = deps.db;
  const w = await webhookById(db, r.webhook_id);
  let skip: string | null = null;
  if (!w) skip = 'the webhook was deleted';
  else if (w.status !== 'ACTIVE') skip = `the webhook is ${w.status}`;
  else skip = await ownerRefusal(db, w, r.model_id);
  if (skip !== null || !w) return finish(deps, r, 'skipped', null, null, skip ?? '');

  const { headers, body } = await deliveryRequest(w, r.event, JSON.parse(r.payload) as Record<string, unknown>, r.id);
  const res = await sendOnce(deps, w, headers, body);
  const status = res.response?.status ?? null;
  if (res.ok) return finish(deps, r, 'delivered', status, res.durationMs, '');
  const last = res.permanent || r.attempts >= deps.webhooks.maxAttempts;
  return finish(deps, r, last ? 'failed' : 'retry', status, res.durationMs, res.detail);
}

async function finish(deps: DeliverDeps, r: OutboxRow, outcome: Outcome, status: number | null, durationMs: number | null, detail: string): Promise<Outcome> {
  const db = deps.db;
  const now = deps.clock.now();
  const change: SqlStatement =
    outcome === 'retry'
      ? db.prepare('UPDATE webhook_outbox SET next_attempt_at = ?, lease_until = 0 WHERE id = ?').bind(now + retryDelayMs(deps.webhooks, r.attempts), r.id)
      : db.prepare('DELETE FROM webhook_outbox WHERE id = ?').bind(r.id);
  await db.batch([change, logStatement(db, { outboxId: r.id, webhookId: r.webhook_id, event: r.event, attempt: r.attempts, at: now, outcome, status, durationMs, detail })]);
  if (outcome !== 'delivered') deps.logger.info('webhook_delivery', { outboxId: r.id, webhookId: r.webhook_id, event: r.event, attempt: r.attempts, outcome, status, detail });
  return outcome;
}

export interface LogEntry {
  outboxId: string;
  webhookId: string;
  event: string;
  attempt: number;
  at: number;
  outcome: Outcome;
  status: number | null;
  durationMs: number | null;
  detail: string;
}

export function logStatement(db: SqlDb, e: LogEntry): SqlStatement {
  return db
    .prepare(
      `INSERT INTO webhook_deliveries (outbox_id, webhook_id, event, attempt, at, outcome, status_code, duration_ms, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(e.outboxId, e.webhookId, e.event, e.attempt, e.at, e.outcome, e.status, e.durationMs, e.detail.slice(0, 1000));
}
