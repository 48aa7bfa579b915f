/**
 * @module versions
 * Model-version operations: create (numbered from the model's counter, never reused), read, update, delete,
 * tags, and the download URI. Authorization and validation come before the first write; multi-statement
 * writes are one batch.
 */
import type { SqlDb } from '../ports.ts';
import type { Principal } from '../identity/principal.ts';
import { GatewayError, notFound } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { StorageError } from '../storage/object-store.ts';
import type { AclCache } from '../access/acl-cache.ts';
import { planSource } from '../artifacts/register-source.ts';
import { copyIntoVersion, insertArtifactStatements, objectKeysOf, purgeObjects, type ArtifactRow } from '../artifacts/managed.ts';
import { randomHex } from '../ids.ts';
import { authorizeModel, modelNotFound } from '../access/authorize.ts';
import type { Ability } from '../access/policy.ts';
import type { Level } from '../access/levels.ts';
import { modelById, versionRow, type ModelRow, type VersionRow } from './rows.ts';
import { versionKey, versionTags } from './load.ts';
import { renderModelVersion, type ModelVersionJson } from './render.ts';
import type { RegistryDeps } from './models.ts';
import { modelDirOf, validateName, validateTagKey, validateTagValue, validateTags } from './validate.ts';
import { enqueueEvent, enqueueVersionCreated, versionTagSetEvent } from '../webhooks/outbox.ts';

export const versionNotFound = (name: string, version: number) =>
  notFound(`Model Version (name=${name}, version=${version}) not found`);

export interface AuthorizedVersion {
  model: ModelRow;
  level: Level;
  row: VersionRow;
}

/** Authorizes `ability` on the model, then finds the version (404 in the MLflow wording when missing). */
export async function authorizeVersion(deps: RegistryDeps, principal: Principal, name: string, version: number, ability: Ability): Promise<AuthorizedVersion> {
  const { model, level } = await authorizeModel(deps, principal, validateName(name), ability);
  const row = await versionRow(deps.db, model.id, version);
  if (!row) throw versionNotFound(model.name, version);
  return { model, level, row };
}

/** One version as a ModelVersion entity, with its tags. */
export async function versionJson(db: SqlDb, modelName: string, row: VersionRow): Promise<ModelVersionJson> {
  const tags = await versionTags(db, [row]);
  return renderModelVersion(row, modelName, tags.get(versionKey(row.model_id, row.version)));
}

export interface CreateVersionInput {
  name: string;
  source: string;
  runId?: string;
  runLink?: string;
  description?: string;
  /** As sent: validated here. */
  tags: Record<string, unknown>[];
}

/** What registering a version needs beyond the registry: storage, and which sources may be recorded as given. */
export interface CreateVersionDeps extends RegistryDeps {
  config: { externalSourcePrefixes: readonly string[] };
}

/**
 * Registers a version. The source is planned first (register-source.ts: the caller's uploads, another
 * version it may read, or a configured external prefix; anything else is refused and nothing is written),
 * then its files are copied into managed storage under a fresh storage id, then one batch takes the version
 * number from `registered_models.next_version`, inserts the version and indexes its files. A copy that fails
 * leaves a FAILED_REGISTRATION version with no files; a failing batch deletes the copies. A model deleted
 * while the files were being copied answers RESOURCE_DOES_NOT_EXIST, its copies deleted. The answer is READY
 * at once, so the clients skip their polling.
 */
export async function createVersion(deps: CreateVersionDeps, principal: Principal, input: CreateVersionInput): Promise<ModelVersionJson> {
  const tags = validateTags(input.tags);
  const { model } = await authorizeModel(deps, principal, validateName(input.name), { kind: 'add_version' });
  const db = deps.db;
  const storageId = randomHex(16);
  const plan = await planSource(
    { db, acl: deps.acl, audit: deps.audit, externalSourcePrefixes: deps.config.externalSourcePrefixes },
    principal,
    input.source,
    modelDirOf(input.source),
  );
  let status: VersionRow['status'] = 'READY';
  let statusMessage = '';
  let files: ArtifactRow[] = [];
  const modelDir = plan.kind === 'copy' ? plan.modelDir : modelDirOf(input.source);
  if (plan.kind === 'copy') {
    try {
      files = await copyIntoVersion(deps.objectStore, storageId, modelDir, plan.files);
    } catch (e) {
      if (!(e instanceof StorageError)) throw e;
      status = 'FAILED_REGISTRATION';
      statusMessage = `Copying the model files into managed storage failed (${e.kind}); register the model again.`;
    }
  }
  const now = deps.clock.now();
  let results: Array<Record<string, unknown>[]>;
  try {
    // Within the batch, after the UPDATE, `next_version - 1` is the number this create took.
    results = await db.batch([
      db
        .prepare('UPDATE registered_models SET next_version = next_version + 1, updated_at = ? WHERE id = ? RETURNING next_version - 1 AS version')
        .bind(now, model.id),
      db
        .prepare(
          `INSERT INTO model_versions (model_id, version, storage_id, model_dir, source, run_id, run_link, description, has_description,
                                       user_id, stage, status, status_message, created_at, updated_at)
           SELECT id, next_version - 1, ?, ?, ?, ?, ?, ?, ?, ?, 'None', ?, ?, ?, ? FROM registered_models WHERE id = ?`,
        )
        .bind(storageId, modelDir, input.source, input.runId ?? '', input.runLink ?? '', input.description ?? '', input.description !== undefined ? 1 : 0, principal.name, status, statusMessage, now, now, model.id),
      ...tags.map((t) =>
        db
          .prepare('INSERT INTO version_tags (model_id, version, key, value) SELECT id, next_version - 1, ?, ? FROM registered_models WHERE id = ?')
          .bind(t.key, t.value, model.id),
      ),
      ...insertArtifactStatements(db, files),
      // Last: reads the number the UPDATE above took (webhooks/outbox.ts); no row unless a webhook listens.
      enqueueVersionCreated(db, model.id, model.name, now),
    ]);
  } catch (e) {
    await purgeObjects(deps.objectStore, files.map((f) => f.object_key));
    // The model was deleted while its files were copied: the version's rows then fail on their foreign keys.
    // That is the caller's race, not a server fault, and it answers as a model that does not exist.
    if (!(await modelById(db, model.id))) throw modelNotFound(model.name);
    throw e;
  }
  const taken = results[0]?.[0]?.version;
  if (typeof taken !== 'number') {
    // Deleted meanwhile, with nothing to index: the batch changed no row.
    await purgeObjects(deps.objectStore, files.map((f) => f.object_key));
    throw modelNotFound(model.name);
  }
  const row = await versionRow(db, model.id, taken);
  if (!row) throw versionNotFound(model.name, taken);
  return versionJson(db, model.name, row);
}

/** @example await getVersion(deps, principal, 'm', 1) */
export async function getVersion(deps: RegistryDeps, principal: Principal, name: string, version: number): Promise<ModelVersionJson> {
  const { model, row } = await authorizeVersion(deps, principal, name, version, { kind: 'view' });
  return versionJson(deps.db, model.name, row);
}

/** Sets the description (unchanged when absent). */
export async function updateVersion(deps: RegistryDeps, principal: Principal, name: string, version: number, description: string | undefined): Promise<ModelVersionJson> {
  const { model, row } = await authorizeVersion(deps, principal, name, version, { kind: 'update_description' });
  const next: VersionRow = {
    ...row,
    description: description ?? row.description,
    has_description: description !== undefined ? 1 : row.has_description,
    updated_at: deps.clock.now(),
  };
  await deps.db
    .prepare('UPDATE model_versions SET description = ?, has_description = ?, updated_at = ? WHERE model_id = ? AND version = ?')
    .bind(next.description, next.has_description, next.updated_at, row.model_id, row.version)
    .run();
  return versionJson(deps.db, model.name, next);
}

/** Deletes a version with its tags, activities and comments. Its number is never given out again. */
export async function deleteVersion(deps: RegistryDeps, principal: Principal, name: string, version: number): Promise<void> {
  const { model, row } = await authorizeVersion(deps, principal, name, version, { kind: 'delete' });
  const db = deps.db;
  const byVersion = (table: string) => db.prepare(`DELETE FROM ${table} WHERE model_id = ? AND version = ?`).bind(model.id, row.version);
  const keys = await objectKeysOf(db, model.id, row.version);
  await db.batch([
    byVersion('comments'),
    byVersion('activities'),
    byVersion('version_tags'),
    byVersion('model_versions'),
    db.prepare('UPDATE registered_models SET updated_at = ? WHERE id = ?').bind(deps.clock.now(), model.id),
  ]);
  await purgeObjects(deps.objectStore, keys);
}

export async function setVersionTag(deps: RegistryDeps, principal: Principal, name: string, version: number, key: string, value: string): Promise<void> {
  const k = validateTagKey(key);
  const v = validateTagValue(value, k);
  const { model, row } = await authorizeVersion(deps, principal, name, version, { kind: 'edit_tags' });
  const db = deps.db;
  const now = deps.clock.now();
  await db.batch([
    db
      .prepare(
        `INSERT INTO version_tags (model_id, version, key, value) VALUES (?, ?, ?, ?)
         ON CONFLICT (model_id, version, key) DO UPDATE SET value = excluded.value`,
      )
      .bind(row.model_id, row.version, k, v),
    db.prepare('UPDATE model_versions SET updated_at = ? WHERE model_id = ? AND version = ?').bind(now, row.model_id, row.version),
    enqueueEvent(db, versionTagSetEvent(model.id, model.name, row.version, k, v, now)),
  ]);
}

/** Deletes one tag; a tag that is not set is not an error (MLflow's store behaves the same). */
export async function deleteVersionTag(deps: RegistryDeps, principal: Principal, name: string, version: number, key: string): Promise<void> {
  const k = validateTagKey(key);
  const { row } = await authorizeVersion(deps, principal, name, version, { kind: 'edit_tags' });
  const db = deps.db;
  await db.batch([
    db.prepare('DELETE FROM version_tags WHERE model_id = ? AND version = ? AND key = ?').bind(row.model_id, row.version, k),
    db.prepare('UPDATE model_versions SET updated_at = ? WHERE model_id = ? AND version = ?').bind(deps.clock.now(), row.model_id, row.version),
  ]);
}

/** Where Databricks says a version's files are: `dbfs:/databricks/mlflow-registry/<storage_id>/models/<dir>`. */
export function downloadUriOf(row: VersionRow): string {
  return `dbfs:/databricks/mlflow-registry/${row.storage_id}/models/${row.model_dir}`;
}

export async function getDownloadUri(deps: RegistryDeps, principal: Principal, name: string, version: number): Promise<string> {
  const { row } = await authorizeVersion(deps, principal, name, version, { kind: 'view' });
  return downloadUriOf(row);
}
