/**
 * @module rows
 * The shapes of registry rows as SQL returns them, and the lookups every operation starts from.
 */
import type { SqlDb } from '../ports.ts';
import type { Stage } from './stages.ts';

export interface ModelRow {
  id: string;
  name: string;
  description: string;
  /** 1 when a description was given (possibly ""), 0 when none ever was (migration 0008). */
  has_description: number;
  user_id: string;
  created_at: number;
  updated_at: number;
  next_version: number;
  acl_epoch: number;
}

export interface VersionRow {
  model_id: string;
  version: number;
  storage_id: string;
  model_dir: string;
  source: string;
  run_id: string;
  run_link: string;
  description: string;
  /** 1 when a description was given (possibly ""), 0 when none ever was: MLflow tells "" from absent. */
  has_description: number;
  user_id: string;
  stage: Stage;
  status: 'PENDING_REGISTRATION' | 'FAILED_REGISTRATION' | 'READY';
  status_message: string;
  created_at: number;
  updated_at: number;
}

export interface TagRow {
  key: string;
  value: string;
}

const MODEL_COLUMNS = 'id, name, description, has_description, user_id, created_at, updated_at, next_version, acl_epoch';

export async function modelByName(db: SqlDb, name: string): Promise<ModelRow | null> {
  return db.prepare(`SELECT ${MODEL_COLUMNS} FROM registered_models WHERE name = ?`).bind(name).first<ModelRow>();
}

export async function modelById(db: SqlDb, id: string): Promise<ModelRow | null> {
  return db.prepare(`SELECT ${MODEL_COLUMNS} FROM registered_models WHERE id = ?`).bind(id).first<ModelRow>();
}

export const VERSION_COLUMNS =
  'model_id, version, storage_id, model_dir, source, run_id, run_link, description, has_description, user_id, stage, status, status_message, created_at, updated_at';

export async function versionRow(db: SqlDb, modelId: string, version: number): Promise<VersionRow | null> {
  return db
    .prepare(`SELECT ${VERSION_COLUMNS} FROM model_versions WHERE model_id = ? AND version = ?`)
    .bind(modelId, version)
    .first<VersionRow>();
}
