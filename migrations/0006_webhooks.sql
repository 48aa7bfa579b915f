-- Registry webhooks (Databricks' /api/2.0/mlflow/registry-webhooks/*), the outbox of deliveries written in the
-- same batch as the registry change that fires them, and the delivery log. Plain SQLite dialect: node:sqlite
-- and D1 alike (no BEGIN, no triggers).

-- model_id NULL: a registry-wide webhook (admins only). owner_id: the principal that created it; every delivery
-- first checks that the owner may still read the event's model. events: a JSON array of event names.
-- secret and auth_header (http_url_spec.authorization) are kept to sign and authorize deliveries and never shown by any API.
CREATE TABLE webhooks (
  id TEXT PRIMARY KEY,
  model_id TEXT,
  owner_id TEXT NOT NULL,
  events TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  url TEXT NOT NULL,
  secret TEXT NOT NULL DEFAULT '',
  auth_header TEXT NOT NULL DEFAULT '',
  enable_ssl_verification INTEGER NOT NULL DEFAULT 1,
  status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'TEST_MODE', 'DISABLED')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX webhooks_model ON webhooks (model_id, status);

-- One row per (webhook, event) still to deliver. payload: the event's JSON without `event` and `webhook_id`
-- (added at delivery). attempts counts sends started; lease_until keeps one sender at a time on a row (a sender
-- that dies leaves the lease to expire, and the row is sent again: at-least-once).
CREATE TABLE webhook_outbox (
  id TEXT PRIMARY KEY,
  webhook_id TEXT NOT NULL,
  event TEXT NOT NULL,
  model_id TEXT,
  payload TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  lease_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at);

-- Every send (and every row dropped without one), newest last. outcome: delivered | retry | failed | skipped.
CREATE TABLE webhook_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  outbox_id TEXT NOT NULL,
  webhook_id TEXT NOT NULL,
  event TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  at INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  status_code INTEGER,
  duration_ms INTEGER,
  detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
