-- regate schema, SQLite dialect (node:sqlite on Node, D1 on Workers). docs/storage-schema.md describes every table.

CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- Users, service principals and groups share one id space, as SCIM ids do in a Databricks workspace.
CREATE TABLE principals (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('user', 'service_principal', 'group')),
  name TEXT NOT NULL,
  display_name TEXT NOT NULL,
  active INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX principals_kind_name ON principals (kind, name);

CREATE TABLE group_members (
  group_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
  member_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
  PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_members_member ON group_members (member_id);

-- Only sha256(token) is stored; the token itself is shown once at creation.
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
  hash TEXT NOT NULL UNIQUE,
  comment TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  created_by TEXT NOT NULL
);
CREATE INDEX tokens_principal ON tokens (principal_id);

CREATE TABLE registered_models (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  user_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  next_version INTEGER NOT NULL DEFAULT 1,
  acl_epoch INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE model_tags (
  model_id TEXT NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (model_id, key)
);

CREATE TABLE model_versions (
  model_id TEXT NOT NULL REFERENCES registered_models (id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  storage_id TEXT NOT NULL UNIQUE,
  model_dir TEXT NOT NULL,
  source TEXT NOT NULL,
  run_id TEXT NOT NULL DEFAULT '',
  run_link TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  user_id TEXT NOT NULL,
  stage TEXT NOT NULL DEFAULT 'None',
  status TEXT NOT NULL,
  status_message TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (model_id, version)
);
CREATE INDEX model_versions_run ON model_versions (run_id);

CREATE TABLE version_tags (
  model_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (model_id, version, key),
  FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE CASCADE
);

-- object_id is a model id, or 'root' for registry-wide grants. A missing row means no permission.
CREATE TABLE grants (
  object_id TEXT NOT NULL,
  principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
  level TEXT NOT NULL,
  PRIMARY KEY (object_id, principal_id)
);
CREATE INDEX grants_principal ON grants (principal_id);

-- Transition requests and their outcomes, comments aside. is_open marks requests awaiting a decision.
CREATE TABLE activities (
  id TEXT PRIMARY KEY,
  model_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  activity_type TEXT NOT NULL,
  from_stage TEXT,
  to_stage TEXT,
  user_id TEXT NOT NULL,
  principal_id TEXT NOT NULL,
  comment TEXT NOT NULL DEFAULT '',
  system_comment TEXT NOT NULL DEFAULT '',
  is_open INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE CASCADE
);
CREATE INDEX activities_version ON activities (model_id, version);

CREATE TABLE comments (
  id TEXT PRIMARY KEY,
  model_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  principal_id TEXT NOT NULL,
  comment TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE CASCADE
);
