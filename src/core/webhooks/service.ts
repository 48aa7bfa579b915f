/**
 * @module service
 * Registry webhooks as Databricks' `/api/2.0/mlflow/registry-webhooks/*` define them: create, list, update,
 * delete and test. Who may: a model's webhooks need CAN_MANAGE on the model, registry-wide ones (no
 * model_name) need a workspace admin; list shows only those. A caller below CAN_READ on the model gets the
 * missing-model (or missing-webhook) answer, as every registry call does. Everything is validated and
 * authorized before the first write, so a refused request changes nothing. `secret` and `authorization`
 * are write-only: no answer carries them.
 */
import type { Clock, SqlDb } from '../ports.ts';
import type { AclCache } from '../access/acl-cache.ts';
import type { Principal } from '../identity/principal.ts';
import { GatewayError, invalid, notFound, Refusal } from '../errors.ts';
import { randomHex } from '../ids.ts';
import { enforce, levelOn, modelNotFound } from '../access/authorize.ts';
import { granteeIds, rootLevel } from '../access/resolve.ts';
import { rank } from '../access/levels.ts';
import { modelById, modelByName, type ModelRow } from '../registry/rows.ts';
import { validateName } from '../registry/validate.ts';
import { checkWebhookUrl } from './address-policy.ts';
import { REGISTRY_WIDE_ONLY, type WebhookEvent, type WebhookStatus } from './events.ts';
import { deliveryRequest, logStatement, sendOnce } from './deliver.ts';
import type { WebhookRuntime } from './settings.ts';
import { WEBHOOK_COLUMNS, webhookById, type WebhookRow } from './rows.ts';

export interface WebhookDeps {
  db: SqlDb;
  clock: Clock;
  acl: AclCache;
  webhooks: WebhookRuntime;
}

/** http_url_spec as sent. */
export interface HttpUrlSpecInput {
  url: string;
  secret?: string;
  authorization?: string;
  enableSslVerification: boolean;
}

export interface WebhookJson {
  id: string;
  events: WebhookEvent[];
  status: WebhookStatus;
  creation_timestamp: number;
  last_updated_timestamp: number;
  http_url_spec: { url: string; enable_ssl_verification: boolean };
  model_name?: string;
  description?: string;
}

export const URL_MAX = 2048;
export const SECRET_MAX = 1024;
export const AUTHORIZATION_MAX = 4096;
export const DESCRIPTION_MAX = 1000;
/** Webhooks per model, and registry-wide ones (Databricks caps them too). */
const WEBHOOKS_PER_SCOPE_MAX = 100;

/** The gate's check: below CAN_READ is the missing-model answer (`missing`), below CAN_MANAGE a 403 (audited). */
async function requireManage(deps: WebhookDeps, principal: Principal, model: ModelRow, missing: () => GatewayError): Promise<void> {
  enforce(model, await levelOn(deps, principal, model), { kind: 'manage_webhooks' }, missing);
}

const registryWideDenied = () =>
  new Refusal('PERMISSION_DENIED', 'Only workspace admins may manage registry-wide webhooks (webhooks without a model_name).', {
    action: 'denied',
    detail: 'manage_webhooks (registry-wide) needs admin',
  });

const webhookNotFound = (id: string) => notFound(`Webhook with id '${id}' does not exist.`);

/** The webhook, if the caller may manage it; a caller who may not even see its model learns nothing. */
async function manageable(deps: WebhookDeps, principal: Principal, id: string): Promise<WebhookRow> {
  const w = await webhookById(deps.db, id);
  if (!w) throw webhookNotFound(id);
  if (w.model_id === null) {
    if (!principal.isAdmin) throw new Refusal('RESOURCE_DOES_NOT_EXIST', webhookNotFound(id).message, { action: 'denied', detail: 'registry-wide webhook; caller is not an admin' });
    return w;
  }
  const model = await modelById(deps.db, w.model_id);
  if (!model) throw webhookNotFound(id);
  await requireManage(deps, principal, model, () => webhookNotFound(id));
  return w;
}

function checkUrl(deps: WebhookDeps, url: string): void {
  const c = checkWebhookUrl(url, deps.webhooks.allow);
  if (!c.ok) throw invalid(`http_url_spec.url ${c.reason}.`);
}

function checkEvents(events: WebhookEvent[], registryWide: boolean): void {
  if (registryWide) return;
  const bad = events.filter((e) => REGISTRY_WIDE_ONLY.has(e));
  if (bad.length > 0) throw invalid(`${bad.join(', ')} can only be used by a registry-wide webhook (one created without model_name).`);
}

function renderWebhook(w: WebhookRow): WebhookJson {
  return {
    id: w.id,
    events: JSON.parse(w.events) as WebhookEvent[],
    status: w.status,
    creation_timestamp: w.created_at,
    last_updated_timestamp: w.updated_at,
    http_url_spec: { url: w.url, enable_ssl_verification: w.enable_ssl_verification === 1 },
    ...(w.model_name !== null ? { model_name: w.model_name } : {}),
    ...(w.description !== '' ? { description: w.description } : {}),
  };
}

export interface CreateWebhookInput {
  modelName?: string;
  events: WebhookEvent[];
  description: string;
  status: WebhookStatus;
  spec: HttpUrlSpecInput;
}

/** POST registry-webhooks/create. */
export async function createWebhook(deps: WebhookDeps, principal: Principal, input: CreateWebhookInput): Promise<WebhookJson> {
  const registryWide = input.modelName === undefined;
  checkEvents(input.events, registryWide);
  checkUrl(deps, input.spec.url);
  let model: ModelRow | null = null;
  if (registryWide) {
    if (!principal.isAdmin) throw registryWideDenied();
  } else {
    const name = validateName(input.modelName);
    model = await modelByName(deps.db, name);
    if (!model) throw modelNotFound(name);
    await requireManage(deps, principal, model, () => modelNotFound(name));
  }
  const db = deps.db;
  const count = await db
    .prepare('SELECT count(*) AS n FROM webhooks WHERE model_id IS ?')
    .bind(model?.id ?? null)
    .first<{ n: number }>();
  if ((count?.n ?? 0) >= WEBHOOKS_PER_SCOPE_MAX) {
    throw invalid(`At most ${WEBHOOKS_PER_SCOPE_MAX} webhooks per model (and registry-wide); delete one first.`);
  }
  const now = deps.clock.now();
  const id = randomHex(16);
  await db
    .prepare(
      `INSERT INTO webhooks (id, model_id, owner_id, events, description, url, secret, auth_header, enable_ssl_verification, status, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(id, model?.id ?? null, principal.id, JSON.stringify(input.events), input.description, input.spec.url, input.spec.secret ?? '',
      input.spec.authorization ?? '', input.spec.enableSslVerification ? 1 : 0, input.status, now, now)
    .run();
  const w = await webhookById(db, id);
  if (!w) throw webhookNotFound(id);
  return renderWebhook(w);
}

export interface UpdateWebhookInput {
  id: string;
  events?: WebhookEvent[];
  description?: string;
  status?: WebhookStatus;
  /** Replaces the whole spec: a secret or authorization left out is removed (never sent to a new URL). */
  spec?: HttpUrlSpecInput;
}

/** PATCH registry-webhooks/update: what is given replaces what was; the owner stays the creator. */
export async function updateWebhook(deps: WebhookDeps, principal: Principal, input: UpdateWebhookInput): Promise<WebhookJson> {
  const w = await manageable(deps, principal, input.id);
  if (input.events) checkEvents(input.events, w.model_id === null);
  if (input.spec) checkUrl(deps, input.spec.url);
  const next = {
    events: input.events ? JSON.stringify(input.events) : w.events,
    description: input.description ?? w.description,
    status: input.status ?? w.status,
    url: input.spec?.url ?? w.url,
    secret: input.spec ? (input.spec.secret ?? '') : w.secret,
    auth: input.spec ? (input.spec.authorization ?? '') : w.auth_header,
    ssl: input.spec ? (input.spec.enableSslVerification ? 1 : 0) : w.enable_ssl_verification,
  };
  await deps.db
    .prepare(
      `UPDATE webhooks SET events = ?, description = ?, status = ?, url = ?, secret = ?, auth_header = ?, enable_ssl_verification = ?, updated_at = ?
       WHERE id = ?`,
    )
    .bind(next.events, next.description, next.status, next.url, next.secret, next.auth, next.ssl, deps.clock.now(), w.id)
    .run();
  const updated = await webhookById(deps.db, w.id);
  if (!updated) throw webhookNotFound(w.id);
  return renderWebhook(updated);
}

/** DELETE registry-webhooks/delete; deliveries still waiting for it are dropped with it. */
export async function deleteWebhook(deps: WebhookDeps, principal: Principal, id: string): Promise<void> {
  const w = await manageable(deps, principal, id);
  await deps.db.batch([
    deps.db.prepare('DELETE FROM webhook_outbox WHERE webhook_id = ?').bind(w.id),
    deps.db.prepare('DELETE FROM webhooks WHERE id = ?').bind(w.id),
  ]);
}

export interface ListWebhooksInput {
  modelName?: string;
  events: WebhookEvent[];
  maxResults: number;
  pageToken?: string;
}

/** GET registry-webhooks/list: the webhooks the caller may manage, by id, `max_results` at a time. */
export async function listWebhooks(deps: WebhookDeps, principal: Principal, input: ListWebhooksInput): Promise<{ webhooks: WebhookJson[]; nextPageToken?: string }> {
  const db = deps.db;
  const where: string[] = [];
  const binds: Array<string | number | null> = [];
  if (input.modelName !== undefined) {
    const name = validateName(input.modelName, 'model_name');
    const model = await modelByName(db, name);
    if (!model) throw modelNotFound(name);
    await requireManage(deps, principal, model, () => modelNotFound(name));
    where.push('w.model_id = ?');
    binds.push(model.id);
  } else if (!principal.isAdmin && rank(await rootLevel(db, principal)) < rank('CAN_MANAGE')) {
    // Only models the caller holds CAN_MANAGE on, directly or through a group; never registry-wide webhooks.
    where.push(`w.model_id IN (SELECT object_id FROM grants WHERE level = 'CAN_MANAGE' AND principal_id IN (SELECT value FROM json_each(?)))`);
    binds.push(granteeIds(principal));
  } else if (!principal.isAdmin) {
    where.push('w.model_id IS NOT NULL');
  }
  if (input.events.length > 0) {
    where.push('EXISTS (SELECT 1 FROM json_each(w.events) e WHERE e.value IN (SELECT value FROM json_each(?)))');
    binds.push(JSON.stringify(input.events));
  }
  if (input.pageToken !== undefined) {
    if (!/^[0-9a-f]{32}$/.test(input.pageToken)) throw invalid(`Invalid page_token '${input.pageToken.slice(0, 64)}'.`);
    where.push('w.id > ?');
    binds.push(input.pageToken);
  }
  const rows = await db
    .prepare(
      `SELECT ${WEBHOOK_COLUMNS} FROM webhooks w LEFT JOIN registered_models m ON m.id = w.model_id
       WHERE (w.model_id IS NULL OR m.id IS NOT NULL) ${where.map((x) => `AND ${x}`).join(' ')}
       ORDER BY w.id LIMIT ?`,
    )
    .bind(...binds, input.maxResults + 1)
    .all<WebhookRow>();
  const page = rows.slice(0, input.maxResults);
  const more = rows.length > input.maxResults;
  return { webhooks: page.map(renderWebhook), ...(more ? { nextPageToken: page[page.length - 1]!.id } : {}) };
}

/**
 * POST registry-webhooks/test: sends one delivery now (ACTIVE or TEST_MODE; a DISABLED webhook sends nothing)
 * and answers the receiver's status code and (at most 64 KiB of) body. `event` must be one of the webhook's;
 * without it the first of its events is used. The payload is a sample, marked as a test in its `text`.
 */
export async function testWebhook(deps: WebhookDeps, principal: Principal, id: string, event?: WebhookEvent): Promise<{ status_code: number; body: string }> {
  const w = await manageable(deps, principal, id);
  const events = JSON.parse(w.events) as WebhookEvent[];
  const chosen = event ?? events[0]!;
  if (!events.includes(chosen)) throw invalid(`Event ${chosen} is not one of the webhook's events (${events.join(', ')}).`);
  if (w.status === 'DISABLED') throw new GatewayError('INVALID_STATE', `Webhook '${w.id}' is DISABLED: it sends nothing, tests included. Set its status to TEST_MODE or ACTIVE first.`);
  const now = deps.clock.now();
  const payload = samplePayload(chosen, w.model_name ?? 'registry-wide-test-model', now);
  const deliveryId = `test-${randomHex(8)}`;
  const { headers, body } = await deliveryRequest(w, chosen, payload, deliveryId);
  const res = await sendOnce(deps, w, headers, body);
  await logStatement(deps.db, {
    outboxId: deliveryId,
    webhookId: w.id,
    event: chosen,
    attempt: 1,
    at: deps.clock.now(),
    outcome: res.ok ? 'delivered' : 'failed',
    status: res.response?.status ?? null,
    durationMs: res.durationMs,
    detail: res.detail,
  }).run();
  if (!res.response) throw new GatewayError('INVALID_STATE', `Test delivery to the webhook's URL failed: ${res.detail}.`);
  return { status_code: res.response.status, body: res.response.body };
}

function samplePayload(event: WebhookEvent, modelName: string, at: number): Record<string, unknown> {
  const base: Record<string, unknown> = { event_timestamp: at, model_name: modelName };
  if (event !== 'REGISTERED_MODEL_CREATED') base.version = '1';
  if (event.startsWith('MODEL_VERSION_TRANSITIONED') || event.startsWith('TRANSITION_REQUEST')) {
    const to = /_TO_(STAGING|PRODUCTION|ARCHIVED)/.exec(event)?.[1];
    base.to_stage = to ? to[0] + to.slice(1).toLowerCase() : 'Production';
    base.from_stage = 'None';
  }
  if (event === 'COMMENT_CREATED') base.comment = 'This is a test comment.';
  if (event === 'MODEL_VERSION_TAG_SET') base.tags = [{ key: 'test', value: 'true' }];
  base.text = `This is a test delivery of ${event} from regate.`;
  return base;
}

