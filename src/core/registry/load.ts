/**
 * @module load
 * Set-at-a-time reads that rendering needs: tags of many models or versions, the latest version per stage,
 * open requests. Each takes the whole page in one query (ids bound as one JSON parameter, since D1 allows
 * only 100 bound values per statement), so a page of results costs a fixed number of queries.
 */
import type { SqlDb } from '../ports.ts';
import { VERSION_COLUMNS, type ModelRow, type TagRow, type VersionRow } from './rows.ts';
import { STAGES, type Stage } from './stages.ts';
import { renderModelVersion, renderRegisteredModel, type ActivityRow, type ModelVersionJson, type RegisteredModelJson } from './render.ts';

/** The key of a version in the maps below. */
export const versionKey = (modelId: string, version: number): string => `${modelId}/${version}`;

/** Tags of every given model, by model id, ordered by key. */
export async function modelTags(db: SqlDb, modelIds: readonly string[]): Promise<Map<string, TagRow[]>> {
  const out = new Map<string, TagRow[]>();
  if (modelIds.length === 0) return out;
  const rows = await db
    .prepare(`SELECT model_id, key, value FROM model_tags WHERE model_id IN (SELECT value FROM json_each(?)) ORDER BY key`)
    .bind(JSON.stringify(modelIds))
    .all<TagRow & { model_id: string }>();
  for (const r of rows) {
    const list = out.get(r.model_id) ?? [];
    list.push({ key: r.key, value: r.value });
    out.set(r.model_id, list);
  }
  return out;
}

/** Tags of every given version, by `versionKey`, ordered by key. */
export async function versionTags(db: SqlDb, versions: ReadonlyArray<{ model_id: string; version: number }>): Promise<Map<string, TagRow[]>> {
  const out = new Map<string, TagRow[]>();
  if (versions.length === 0) return out;
  const pairs = JSON.stringify(versions.map((v) => [v.model_id, v.version]));
  const rows = await db
    .prepare(
      `SELECT t.model_id, t.version, t.key, t.value FROM json_each(?) j
         JOIN version_tags t ON t.model_id = json_extract(j.value, '$[0]') AND t.version = json_extract(j.value, '$[1]')
       ORDER BY t.key`,
    )
    .bind(pairs)
    .all<TagRow & { model_id: string; version: number }>();
  for (const r of rows) {
    const k = versionKey(r.model_id, r.version);
    const list = out.get(k) ?? [];
    list.push({ key: r.key, value: r.value });
    out.set(k, list);
  }
  return out;
}

const stageOrder = (s: Stage): number => STAGES.indexOf(s);

/**
 * The highest-numbered version in each stage of each model (MLflow's `latest_versions`), optionally only
 * in `stages`, ordered by model then canonical stage order (None, Staging, Production, Archived).
 */
export async function latestVersionRows(db: SqlDb, modelIds: readonly string[], stages?: readonly Stage[]): Promise<VersionRow[]> {
  if (modelIds.length === 0) return [];
  const cols = VERSION_COLUMNS.split(', ').map((c) => `v.${c}`).join(', ');
  const rows = await db
    .prepare(
      `SELECT ${cols} FROM model_versions v
       WHERE v.model_id IN (SELECT value FROM json_each(?))
         AND v.version = (SELECT MAX(w.version) FROM model_versions w WHERE w.model_id = v.model_id AND w.stage = v.stage)`,
    )
    .bind(JSON.stringify(modelIds))
    .all<VersionRow>();
  const wanted = stages && stages.length > 0 ? new Set(stages) : null;
  return rows
    .filter((r) => !wanted || wanted.has(r.stage))
    .sort((a, b) => (a.model_id === b.model_id ? stageOrder(a.stage) - stageOrder(b.stage) : a.model_id < b.model_id ? -1 : 1));
}

/** Open transition requests of one version, oldest first. */
export async function openRequests(db: SqlDb, modelId: string, version: number): Promise<ActivityRow[]> {
  return db
    .prepare(
      `SELECT id, model_id, version, activity_type, from_stage, to_stage, user_id, principal_id, comment, system_comment,
              is_open, created_at, updated_at
       FROM activities WHERE model_id = ? AND version = ? AND is_open = 1 ORDER BY created_at, id`,
    )
    .bind(modelId, version)
    .all<ActivityRow>();
}

/** Whole RegisteredModel entities (tags and latest versions with their tags) for a page of models, in order. */
export async function renderModels(db: SqlDb, models: readonly ModelRow[]): Promise<RegisteredModelJson[]> {
  const ids = models.map((m) => m.id);
  const [tags, latest] = await Promise.all([modelTags(db, ids), latestVersionRows(db, ids)]);
  const vTags = await versionTags(db, latest);
  const names = new Map(models.map((m) => [m.id, m.name]));
  const latestByModel = new Map<string, ModelVersionJson[]>();
  for (const v of latest) {
    const list = latestByModel.get(v.model_id) ?? [];
    list.push(renderModelVersion(v, names.get(v.model_id)!, vTags.get(versionKey(v.model_id, v.version))));
    latestByModel.set(v.model_id, list);
  }
  return models.map((m) => renderRegisteredModel(m, tags.get(m.id), latestByModel.get(m.id) ?? []));
}
