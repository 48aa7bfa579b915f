/**
 * @module render
 * Registry rows as the JSON entities both clients decode (model_registry.proto; the SDK's ml.py). `version`
 * is always a string, timestamps are integer ms, stages are canonical, and empty optional strings are left
 * out as MLflow's own server leaves them out. Repeated fields are always sent (possibly empty) because the
 * SDK turns a missing list into None.
 */
import type { ModelRow, TagRow, VersionRow } from './rows.ts';
import type { Level } from '../access/levels.ts';

export interface TagJson {
  key: string;
  value: string;
}

export interface ModelVersionJson {
  name: string;
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id: string;
  current_stage: string;
  description?: string;
  source: string;
  run_id?: string;
  run_link?: string;
  status: string;
  status_message?: string;
  tags: TagJson[];
}

export interface RegisteredModelJson {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id: string;
  description?: string;
  latest_versions: ModelVersionJson[];
  tags: TagJson[];
}

/** A row of `activities` (transition requests, their outcomes, and system transitions). */
export interface ActivityRow {
  id: string;
  model_id: string;
  version: number;
  activity_type: string;
  from_stage: string | null;
  to_stage: string | null;
  user_id: string;
  principal_id: string;
  comment: string;
  system_comment: string;
  is_open: number;
  created_at: number;
  updated_at: number;
}

export interface ActivityJson {
  id: string;
  activity_type: string;
  from_stage?: string;
  to_stage?: string;
  user_id: string;
  comment?: string;
  system_comment?: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
}

export function renderTags(tags: readonly TagRow[] | undefined): TagJson[] {
  return (tags ?? []).map((t) => ({ key: t.key, value: t.value }));
}

/** @example renderModelVersion(row, 'my-model', tags).version // '3' */
export function renderModelVersion(row: VersionRow, modelName: string, tags?: readonly TagRow[]): ModelVersionJson {
  const out: ModelVersionJson = {
    name: modelName,
    version: String(row.version),
    creation_timestamp: row.created_at,
    last_updated_timestamp: row.updated_at,
    user_id: row.user_id,
    current_stage: row.stage,
    source: row.source,
    status: row.status,
    tags: renderTags(tags),
  };
  // Present when given, even as "" (MLflow's to_proto tests `is not None`); absent when never given.
  if (row.description || row.has_description) out.description = row.description;
  if (row.run_id) out.run_id = row.run_id;
  if (row.run_link) out.run_link = row.run_link;
  if (row.status_message) out.status_message = row.status_message;
  return out;
}

/** @example renderRegisteredModel(model, tags, latest).name */
export function renderRegisteredModel(
  model: ModelRow,
  tags: readonly TagRow[] | undefined,
  latestVersions: readonly ModelVersionJson[],
): RegisteredModelJson {
  const out: RegisteredModelJson = {
    name: model.name,
    creation_timestamp: model.created_at,
    last_updated_timestamp: model.updated_at,
    user_id: model.user_id,
    latest_versions: [...latestVersions],
    tags: renderTags(tags),
  };
  if (model.description || model.has_description) out.description = model.description;
  return out;
}

/** ModelDatabricks (SDK `get_model`): the OSS fields plus the stable id and the caller's own level. */
export function renderModelDatabricks(
  id: string,
  model: RegisteredModelJson,
  callerLevel: Level,
): RegisteredModelJson & { id: string; permission_level: Level } {
  return { id, ...model, permission_level: callerLevel };
}

/** Activity (SDK `ml.Activity`); unset stages and empty comments are left out. */
export function renderActivity(row: ActivityRow): ActivityJson {
  const out: ActivityJson = {
    id: row.id,
    activity_type: row.activity_type,
    user_id: row.user_id,
    creation_timestamp: row.created_at,
    last_updated_timestamp: row.updated_at,
  };
  if (row.from_stage) out.from_stage = row.from_stage;
  if (row.to_stage) out.to_stage = row.to_stage;
  if (row.comment) out.comment = row.comment;
  if (row.system_comment) out.system_comment = row.system_comment;
  return out;
}

/** ModelVersionDatabricks (SDK `transition_stage`): a ModelVersion plus the caller's level and open requests. */
export function renderModelVersionDatabricks(
  row: VersionRow,
  modelName: string,
  tags: readonly TagRow[] | undefined,
  callerLevel: Level,
  openRequests: readonly ActivityRow[],
): ModelVersionJson & { permission_level: Level; open_requests: ActivityJson[]; email_subscription_status: string } {
  return {
    ...renderModelVersion(row, modelName, tags),
    permission_level: callerLevel,
    open_requests: openRequests.map(renderActivity),
    email_subscription_status: 'DEFAULT',
  };
}
