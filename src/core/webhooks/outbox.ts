/**
 * @module outbox
 * The statements the registry's write paths add to their own batch to record webhook deliveries: one
 * `INSERT INTO webhook_outbox SELECT … FROM webhooks …` per change, which writes one row per matching ACTIVE
 * webhook and event name, and no row when none matches. Being in the change's batch, an event is recorded
 * exactly when its change commits: a refused or failed request (whose batch never runs, or rolls back) sends
 * nothing, and a committed change is never lost to a crash before delivery.
 *
 * Payloads follow Databricks' registry webhook payloads (fields `event`, `webhook_id`, `event_timestamp`,
 * `model_name`, `version` as a string, `from_stage`, `to_stage`, `comment`, `tags`, `text`); `event` and
 * `webhook_id` are added when a row is delivered (deliver.ts).
 */
import type { SqlDb, SqlStatement } from '../ports.ts';
import type { Stage } from '../registry/stages.ts';
import { requestEvents, transitionEvents, type WebhookEvent } from './events.ts';

/** What a registry change tells its webhooks. */
export interface RegistryEvent {
  /** Every event name the change fires (e.g. the generic and the stage-specific transition event). */
  names: readonly WebhookEvent[];
  /** The model the change is about: its webhooks and the registry-wide ones hear it. */
  modelId: string;
  at: number;
  /** The payload without `event` and `webhook_id`. */
  payload: Record<string, unknown>;
}

const INSERT = `INSERT INTO webhook_outbox (id, webhook_id, event, model_id, payload, created_at, next_attempt_at)
  SELECT lower(hex(randomblob(16))), w.id, e.value, ?1, PAYLOAD, ?3, ?3
  FROM webhooks w, json_each(w.events) e
  WHERE w.status = 'ACTIVE' AND (w.model_id = ?1 OR w.model_id IS NULL)
    AND e.value IN (SELECT value FROM json_each(?4))`;

/** The outbox statement for `e`, to put in the batch of the change it records. */
export function enqueueEvent(db: SqlDb, e: RegistryEvent): SqlStatement {
  return db.prepare(INSERT.replace('PAYLOAD', '?2')).bind(e.modelId, JSON.stringify(e.payload), e.at, JSON.stringify(e.names));
}

/**
 * MODEL_VERSION_CREATED, for the batch of model-versions/create: the version number is taken inside that
 * batch (`registered_models.next_version - 1` after its UPDATE), so the payload reads it there too.
 */
export function enqueueVersionCreated(db: SqlDb, modelId: string, modelName: string, at: number): SqlStatement {
  const payload = { event_timestamp: at, model_name: modelName, version: '', text: '' };
  const text = `A new version %d of registered model '${modelName.replace(/%/g, '%%')}' was created.`;
  const expr = `json_set(?2, '$.version', CAST(v.n AS TEXT), '$.text', printf(?5, v.n))`;
  const sql = INSERT.replace('PAYLOAD', expr).replace(
    'FROM webhooks w,',
    'FROM (SELECT next_version - 1 AS n FROM registered_models WHERE id = ?1) v, webhooks w,',
  );
  return db.prepare(sql).bind(modelId, JSON.stringify(payload), at, JSON.stringify(['MODEL_VERSION_CREATED']), text);
}

export const modelCreatedEvent = (modelId: string, modelName: string, at: number): RegistryEvent => ({
  names: ['REGISTERED_MODEL_CREATED'],
  modelId,
  at,
  payload: { event_timestamp: at, model_name: modelName, text: `A new registered model '${modelName}' was created.` },
});

/**
 * An event about one model version: the payload fields every such event carries (in Databricks' order), then
 * the event's own fields, then its text. The one builder behind the version events below, so they cannot drift.
 */
function versionEvent(names: readonly WebhookEvent[], modelId: string, modelName: string, version: number, at: number, own: Record<string, unknown>, text: string): RegistryEvent {
  return { names, modelId, at, payload: { event_timestamp: at, model_name: modelName, version: String(version), ...own, text } };
}

export const transitionedEvent = (modelId: string, modelName: string, version: number, from: Stage, to: Stage, at: number): RegistryEvent =>
  versionEvent(transitionEvents(to), modelId, modelName, version, at, { to_stage: to, from_stage: from }, `Registered model '${modelName}' version ${version} transitioned from ${from} to ${to}.`);

export const requestCreatedEvent = (modelId: string, modelName: string, version: number, from: Stage, to: Stage, at: number): RegistryEvent =>
  versionEvent(requestEvents(to), modelId, modelName, version, at, { to_stage: to, from_stage: from }, `A user requested to transition registered model '${modelName}' version ${version} from ${from} to ${to}.`);

export const commentCreatedEvent = (modelId: string, modelName: string, version: number, comment: string, at: number): RegistryEvent =>
  versionEvent(['COMMENT_CREATED'], modelId, modelName, version, at, { comment }, `A user commented on registered model '${modelName}' version ${version}.`);

export const versionTagSetEvent = (modelId: string, modelName: string, version: number, key: string, value: string, at: number): RegistryEvent =>
  versionEvent(['MODEL_VERSION_TAG_SET'], modelId, modelName, version, at, { tags: [{ key, value }] }, `A user set version tag(s) '${key}' => '${value}' for registered model '${modelName}' version ${version}.`);
