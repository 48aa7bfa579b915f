/**
 * @module models
 * Registered-model operations: create (a workspace right), read, update, rename, delete, tags, and the
 * latest versions per stage. Each authorizes and validates everything before its first write, and every
 * multi-statement write is one batch, so a refused or failed request changes nothing.
 */
import type { Clock, SqlDb, SqlStatement } from '../ports.ts';
import type { AclCache } from '../access/acl-cache.ts';
import type { AuditSink } from '../audit.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { objectKeysOf, purgeObjects } from '../artifacts/managed.ts';
import type { Principal } from '../identity/principal.ts';
import { alreadyExists, denied } from '../errors.ts';
import { newModelId } from '../ids.ts';
import { findPrincipal } from '../identity/store.ts';
import { authorizeModel, enforce, levelOn, modelNotFound } from '../access/authorize.ts';
import { modelEntityByName } from './model-entity.ts';
import { modelByName, type ModelRow } from './rows.ts';
import type { Stage } from './stages.ts';
import type { DataCache } from '../access/data-cache.ts';
import { latestVersionRows, renderModels, versionKey, versionTags } from './load.ts';
import { renderModelDatabricks, renderModelVersion, type ModelVersionJson, type RegisteredModelJson } from './render.ts';
import { validateName, validateTagKey, validateTagValue, validateTags } from './validate.ts';
import { enqueueEvent, modelCreatedEvent } from '../webhooks/outbox.ts';

export interface RegistryDeps {
  db: SqlDb;
  clock: Clock;
  acl: AclCache;
  /** Registry rows under the current data epoch (registered-models/get reads its entity from here). */
  rows: DataCache;
  /** Refusals of checks that hide rather than throw (e.g. a source the caller cannot read). */
  audit: AuditSink;
  /** Where versions' files live; deletes remove them after the rows are gone. */
  objectStore: ObjectStore;
}

export const modelExists = (name: string) => alreadyExists(`Registered Model (name=${name}) already exists.`);

/** One model as a full RegisteredModel entity. */
export async function modelJson(db: SqlDb, model: ModelRow): Promise<RegisteredModelJson> {
  return (await renderModels(db, [model]))[0]!;
}

/**
 * Whether the caller may create registered models: admins, and members (directly or through nested groups)
 * of the configured creators group. A group that does not exist admits no one but admins.
 */
export async function mayCreateModels(db: SqlDb, principal: Principal, creatorsGroup: string): Promise<boolean> {
  if (principal.isAdmin) return true;
  const group = await findPrincipal(db, 'group', creatorsGroup);
  return group !== null && principal.groupIds.includes(group.id);
}

/** A failed write that broke `registered_models.name`'s uniqueness becomes RESOURCE_ALREADY_EXISTS. */
async function asNameConflict(db: SqlDb, name: string, err: unknown): Promise<never> {
  if (await modelByName(db, name)) throw modelExists(name);
  throw err;
}

export interface CreateModelInput {
  name: string;
  description?: string;
  /** As sent: validated here. */
  tags: Record<string, unknown>[];
}

/**
 * Creates a model and the creator's CAN_MANAGE grant in one batch.
 * @example await createModel(deps, principal, 'users', { name: 'm', tags: [] })
 */
export async function createModel(deps: RegistryDeps, principal: Principal, creatorsGroup: string, input: CreateModelInput): Promise<RegisteredModelJson> {
  const name = validateName(input.name);
  const tags = validateTags(input.tags);
  if (!(await mayCreateModels(deps.db, principal, creatorsGroup))) {
    throw denied(`${principal.name} does not have permission to create registered models in this workspace.`);
  }
  if (await modelByName(deps.db, name)) throw modelExists(name);
  const now = deps.clock.now();
  const model: ModelRow = {
    id: newModelId(),
    name,
    description: input.description ?? '',
    has_description: input.description !== undefined ? 1 : 0,
    user_id: principal.name,
    created_at: now,
    updated_at: now,
    next_version: 1,
    acl_epoch: 0,
  };
  const db = deps.db;
  const statements: SqlStatement[] = [
    db
      .prepare(`INSERT INTO registered_models (id, name, description, has_description, user_id, created_at, updated_at, next_version, acl_epoch)
                VALUES (?, ?, ?, ?, ?, ?, ?, 1, 0)`)
      .bind(model.id, model.name, model.description, model.has_description, model.user_id, now, now),
    db.prepare(`INSERT INTO grants (object_id, principal_id, level) VALUES (?, ?, 'CAN_MANAGE')`).bind(model.id, principal.id),
    ...tags.map((t) => db.prepare('INSERT INTO model_tags (model_id, key, value) VALUES (?, ?, ?)').bind(model.id, t.key, t.value)),
    // Registry-wide webhooks hear it in the same batch (webhooks/outbox.ts): no row unless one listens.
    enqueueEvent(db, modelCreatedEvent(model.id, model.name, now)),
  ];
  try {
    await db.batch(statements);
  } catch (err) {
    await asNameConflict(db, name, err);
  }
  return modelJson(db, model);
}

/** The whole entity in one statement (model-entity.ts), if the caller may view it. */
async function viewableEntity(deps: RegistryDeps, principal: Principal, name: string) {
  const valid = validateName(name);
  // Warm, from memory under the request's data epoch (access/data-cache.ts): no statement of its own.
  const entity = await deps.rows.through(`entity\0${valid}`, principal.epochs, () => modelEntityByName(deps.db, valid));
  if (!entity) throw modelNotFound(name);
  const level = await levelOn(deps, principal, entity.model);
  enforce(entity.model, level, { kind: 'view' });
  return { entity, level };
}

/** @example await getModel(deps, principal, 'm') */
export async function getModel(deps: RegistryDeps, principal: Principal, name: string): Promise<RegisteredModelJson> {
  return (await viewableEntity(deps, principal, name)).entity.render();
}

/** The SDK's `get_model`: the model with its stable id and the caller's effective level. */
export async function getModelDatabricks(deps: RegistryDeps, principal: Principal, name: string) {
  const { entity, level } = await viewableEntity(deps, principal, name);
  return renderModelDatabricks(entity.model.id, entity.render(), level);
}

/** Sets the description (left unchanged when absent, as the SDK may send only the name). */
export async function updateModel(deps: RegistryDeps, principal: Principal, name: string, description: string | undefined): Promise<RegisteredModelJson> {
  const { model } = await authorizeModel(deps, principal, validateName(name), { kind: 'update_description' });
  const now = deps.clock.now();
  const next = {
    ...model,
    description: description ?? model.description,
    has_description: description !== undefined ? 1 : model.has_description,
    updated_at: now,
  };
  await deps.db
    .prepare('UPDATE registered_models SET description = ?, has_description = ?, updated_at = ? WHERE id = ?')
    .bind(next.description, next.has_description, now, model.id)
    .run();
  return modelJson(deps.db, next);
}

/** Renames a model. Its id, versions, tags and grants are keyed by the id, so they all stay with it. */
export async function renameModel(deps: RegistryDeps, principal: Principal, name: string, newName: string): Promise<RegisteredModelJson> {
  const target = validateName(newName, 'new_name');
  const { model } = await authorizeModel(deps, principal, validateName(name), { kind: 'rename' });
  const other = await modelByName(deps.db, target);
  if (other && other.id !== model.id) throw modelExists(target);
  const now = deps.clock.now();
  try {
    await deps.db.prepare('UPDATE registered_models SET name = ?, updated_at = ? WHERE id = ?').bind(target, now, model.id).run();
  } catch (err) {
    await asNameConflict(deps.db, target, err);
  }
  // Decisions are keyed by id, so a rename cannot mislead the cache; drop them anyway, as a rename is rare.
  deps.acl?.invalidateModel(model.id);
  return modelJson(deps.db, { ...model, name: target, updated_at: now });
}

/** Deletes a model with its versions, tags, activities, comments and grants, in one batch. */
export async function deleteModel(deps: RegistryDeps, principal: Principal, name: string): Promise<void> {
  const { model } = await authorizeModel(deps, principal, validateName(name), { kind: 'delete' });
  const db = deps.db;
  const byModel = (table: string) => db.prepare(`DELETE FROM ${table} WHERE model_id = ?`).bind(model.id);
  const keys = await objectKeysOf(db, model.id);
  await db.batch([
    byModel('comments'),
    byModel('activities'),
    byModel('version_tags'),
    byModel('model_versions'),
    byModel('model_tags'),
    db.prepare('DELETE FROM grants WHERE object_id = ?').bind(model.id),
    db.prepare('DELETE FROM webhooks WHERE model_id = ?').bind(model.id),
    db.prepare('DELETE FROM registered_models WHERE id = ?').bind(model.id),
  ]);
  deps.acl?.invalidateModel(model.id);
  await purgeObjects(deps.objectStore, keys);
}

/** Sets one tag (replacing its value) and marks the model updated. */
export async function setModelTag(deps: RegistryDeps, principal: Principal, name: string, key: string, value: string): Promise<void> {
  const k = validateTagKey(key);
  const v = validateTagValue(value, k);
  const { model } = await authorizeModel(deps, principal, validateName(name), { kind: 'edit_tags' });
  const db = deps.db;
  await db.batch([
    db
      .prepare('INSERT INTO model_tags (model_id, key, value) VALUES (?, ?, ?) ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value')
      .bind(model.id, k, v),
    db.prepare('UPDATE registered_models SET updated_at = ? WHERE id = ?').bind(deps.clock.now(), model.id),
  ]);
}

/** Deletes one tag; deleting a tag that is not set succeeds, as in MLflow's own store. */
export async function deleteModelTag(deps: RegistryDeps, principal: Principal, name: string, key: string): Promise<void> {
  const k = validateTagKey(key);
  const { model } = await authorizeModel(deps, principal, validateName(name), { kind: 'edit_tags' });
  const db = deps.db;
  await db.batch([
    db.prepare('DELETE FROM model_tags WHERE model_id = ? AND key = ?').bind(model.id, k),
    db.prepare('UPDATE registered_models SET updated_at = ? WHERE id = ?').bind(deps.clock.now(), model.id),
  ]);
}

/**
 * The highest version in each of `stages` (every stage, "None" included, when none are given), as
 * `models:/NAME/Production` and `models:/NAME/latest` resolve them.
 */
export async function getLatestVersions(deps: RegistryDeps, principal: Principal, name: string, stages: readonly Stage[]): Promise<ModelVersionJson[]> {
  const { model } = await authorizeModel(deps, principal, validateName(name), { kind: 'view' });
  const rows = await latestVersionRows(deps.db, [model.id], stages);
  const tags = await versionTags(deps.db, rows);
  return rows.map((r) => renderModelVersion(r, model.name, tags.get(versionKey(r.model_id, r.version))));
}
