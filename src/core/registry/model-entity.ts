/**
 * @module model-entity
 * One registered model as a whole entity (row, tags, latest version per stage with their tags) in ONE
 * statement, with JSON aggregation. `registered-models/get` is a hot metadata read, and on D1 every statement
 * is a network round trip: this makes it the epoch read plus this one. Rendering goes through the same
 * functions as the set-at-a-time path (load.ts), so both answer byte for byte alike.
 */
import type { SqlDb } from '../ports.ts';
import { VERSION_COLUMNS, type ModelRow, type TagRow, type VersionRow } from './rows.ts';
import { STAGES } from './stages.ts';
import { renderModelVersion, renderRegisteredModel, type RegisteredModelJson } from './render.ts';

const MODEL_COLUMNS = 'm.id, m.name, m.description, m.has_description, m.user_id, m.created_at, m.updated_at, m.next_version, m.acl_epoch';
const tagsOf = (table: string, where: string) =>
  `(SELECT json_group_array(json_object('key', t.key, 'value', t.value))
      FROM (SELECT key, value FROM ${table} WHERE ${where} ORDER BY key) t)`;
const versionObject = `json_object(${VERSION_COLUMNS.split(', ')
  .map((c) => `'${c}', v.${c}`)
  .join(', ')}, 'tags', json(${tagsOf('version_tags', 'model_id = v.model_id AND version = v.version')}))`;

const ENTITY_SQL = `SELECT ${MODEL_COLUMNS},
    json(${tagsOf('model_tags', 'model_id = m.id')}) AS tags_json,
    (SELECT json_group_array(json(${versionObject})) FROM model_versions v
       WHERE v.model_id = m.id
         AND v.version = (SELECT MAX(w.version) FROM model_versions w WHERE w.model_id = v.model_id AND w.stage = v.stage)) AS latest_json
  FROM registered_models m WHERE m.name = ?`;

export interface ModelEntity {
  model: ModelRow;
  /** Renders the entity (done after the permission check, so a refused caller costs no rendering). */
  render(): RegisteredModelJson;
}

/** The model named `name` with everything its entity shows, or null. */
export async function modelEntityByName(db: SqlDb, name: string): Promise<ModelEntity | null> {
  const row = await db.prepare(ENTITY_SQL).bind(name).first<ModelRow & { tags_json: string; latest_json: string }>();
  if (!row) return null;
  const { tags_json, latest_json, ...model } = row;
  let rendered: RegisteredModelJson | undefined;
  return {
    model,
    // Rendered once: the entity may be served from the data cache many times (callers never mutate it).
    render() {
      if (rendered) return rendered;
      const tags = JSON.parse(tags_json) as TagRow[];
      const latest = (JSON.parse(latest_json) as Array<VersionRow & { tags: TagRow[] }>).sort(
        (a, b) => STAGES.indexOf(a.stage) - STAGES.indexOf(b.stage),
      );
      const versions = latest.map(({ tags: vt, ...v }) => renderModelVersion(v, model.name, vt.length > 0 ? vt : undefined));
      rendered = renderRegisteredModel(model, tags.length > 0 ? tags : undefined, versions);
      return rendered;
    },
  };
}
