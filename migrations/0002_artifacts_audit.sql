-- Managed artifacts, the per-principal upload area, and the audit trail.

-- Files a principal uploaded through raw `POST /dbfs/databricks/mlflow/tmp-external-source/...`. The area is
-- private: `path` is the DBFS path as the client sent it, unique per principal, never shared.
CREATE TABLE uploads (
  principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  object_key TEXT NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (principal_id, path)
);
CREATE INDEX uploads_created ON uploads (created_at);

-- The files of each model version in managed storage, relative to `<storage_id>/models/<model_dir>/`.
-- list-artifacts reads sizes from here, so they equal the stored objects' lengths exactly.
CREATE TABLE artifacts (
  storage_id TEXT NOT NULL REFERENCES model_versions (storage_id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  object_key TEXT NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  last_modified INTEGER NOT NULL,
  PRIMARY KEY (storage_id, path)
);

CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  principal_id TEXT,
  action TEXT NOT NULL,
  model_id TEXT,
  version INTEGER,
  path TEXT,
  bytes INTEGER,
  status INTEGER NOT NULL,
  detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_model ON audit (model_id, at);
