/**
 * @module events
 * The registry webhook vocabulary of the Databricks workspace registry (databricks-sdk ml.RegistryWebhookEvent
 * and RegistryWebhookStatus), and which event names one registry change fires: a transition to Production
 * fires both MODEL_VERSION_TRANSITIONED_STAGE and MODEL_VERSION_TRANSITIONED_TO_PRODUCTION, and a webhook
 * listening to both gets one delivery for each.
 */
import { invalid } from '../errors.ts';
import type { Stage } from '../registry/stages.ts';

export const WEBHOOK_EVENTS = [
  'MODEL_VERSION_CREATED',
  'MODEL_VERSION_TRANSITIONED_STAGE',
  'TRANSITION_REQUEST_CREATED',
  'COMMENT_CREATED',
  'REGISTERED_MODEL_CREATED',
  'MODEL_VERSION_TAG_SET',
  'MODEL_VERSION_TRANSITIONED_TO_STAGING',
  'MODEL_VERSION_TRANSITIONED_TO_PRODUCTION',
  'MODEL_VERSION_TRANSITIONED_TO_ARCHIVED',
  'TRANSITION_REQUEST_TO_STAGING_CREATED',
  'TRANSITION_REQUEST_TO_PRODUCTION_CREATED',
  'TRANSITION_REQUEST_TO_ARCHIVED_CREATED',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export const WEBHOOK_STATUSES = ['ACTIVE', 'TEST_MODE', 'DISABLED'] as const;
export type WebhookStatus = (typeof WEBHOOK_STATUSES)[number];

/** Only a registry-wide webhook can hear a model being created (there is no model to attach it to yet). */
export const REGISTRY_WIDE_ONLY: ReadonlySet<WebhookEvent> = new Set(['REGISTERED_MODEL_CREATED']);

export function parseEvent(raw: unknown): WebhookEvent {
  if (typeof raw === 'string' && (WEBHOOK_EVENTS as readonly string[]).includes(raw)) return raw as WebhookEvent;
  throw invalid(`Invalid webhook event ${JSON.stringify(raw)}. Value must be one of ${WEBHOOK_EVENTS.join(', ')}.`);
}

export function parseStatus(raw: unknown): WebhookStatus {
  if (typeof raw === 'string' && (WEBHOOK_STATUSES as readonly string[]).includes(raw)) return raw as WebhookStatus;
  throw invalid(`Invalid webhook status ${JSON.stringify(raw)}. Value must be one of ${WEBHOOK_STATUSES.join(', ')}.`);
}

/** A non-empty list of distinct events, in the order given. */
export function parseEvents(raw: readonly unknown[]): WebhookEvent[] {
  if (raw.length === 0) throw invalid(`Missing value for required parameter 'events'.`);
  return [...new Set(raw.map(parseEvent))];
}

const STAGE_SUFFIX: Partial<Record<Stage, string>> = { Staging: 'STAGING', Production: 'PRODUCTION', Archived: 'ARCHIVED' };

/** A version moved to `to`. @example transitionEvents('Production') // [..._STAGE, ..._TO_PRODUCTION] */
export function transitionEvents(to: Stage): WebhookEvent[] {
  const s = STAGE_SUFFIX[to];
  return s ? ['MODEL_VERSION_TRANSITIONED_STAGE', `MODEL_VERSION_TRANSITIONED_TO_${s}` as WebhookEvent] : ['MODEL_VERSION_TRANSITIONED_STAGE'];
}

/** A transition to `to` was requested. */
export function requestEvents(to: Stage): WebhookEvent[] {
  const s = STAGE_SUFFIX[to];
  return s ? ['TRANSITION_REQUEST_CREATED', `TRANSITION_REQUEST_TO_${s}_CREATED` as WebhookEvent] : ['TRANSITION_REQUEST_CREATED'];
}
