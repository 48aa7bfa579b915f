/**
 * @module rows
 * The shape of a stored webhook and the one lookup every webhook operation and every delivery starts from.
 */
import type { SqlDb } from '../ports.ts';
import type { WebhookStatus } from './events.ts';

export interface WebhookRow {
  id: string;
  model_id: string | null;
  /** The model's current name (NULL for registry-wide webhooks, or when the model is gone). */
  model_name: string | null;
  owner_id: string;
  /** JSON array of event names. */
  events: string;
  description: string;
  url: string;
  secret: string;
  auth_header: string;
  enable_ssl_verification: number;
  status: WebhookStatus;
  created_at: number;
  updated_at: number;
}

export const WEBHOOK_COLUMNS = `w.id, w.model_id, m.name AS model_name, w.owner_id, w.events, w.description, w.url, w.secret,
  w.auth_header, w.enable_ssl_verification, w.status, w.created_at, w.updated_at`;

export async function webhookById(db: SqlDb, id: string): Promise<WebhookRow | null> {
  return db
    .prepare(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks w LEFT JOIN registered_models m ON m.id = w.model_id WHERE w.id = ?`)
    .bind(id)
    .first<WebhookRow>();
}
