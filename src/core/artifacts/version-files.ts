/**
 * @module version-files
 * The gate and lookups for a version's files by model name and version number, as list-artifacts and
 * get-signed-download-uri are called: CAN_READ from the ACL cache (checked against this request's epochs and
 * the model row it reads), then the artifact index.
 */
import type { SqlDb } from '../ports.ts';
import type { Principal } from '../identity/principal.ts';
import type { AclCache } from '../access/acl-cache.ts';
import type { DataCache } from '../access/data-cache.ts';
import { notFound } from '../errors.ts';
import { enforce, levelOn, modelNotFound } from '../access/authorize.ts';
import { modelByName, versionRow, type ModelRow, type VersionRow } from '../registry/rows.ts';
import type { Level } from '../access/levels.ts';
import type { ArtifactRow } from './managed.ts';

export interface VersionAccess {
  model: ModelRow;
  version: VersionRow;
  level: Level;
}

const versionMissing = (name: string, version: number) => notFound(`Model Version (name=${name}, version=${version}) not found`);

export async function readableVersion(access: { db: SqlDb; acl: AclCache }, principal: Principal, name: string, version: number): Promise<VersionAccess> {
  const model = await modelByName(access.db, name);
  if (!model) throw modelNotFound(name);
  const level = await levelOn(access, principal, model);
  enforce(model, level, { kind: 'view' });
  const row = await versionRow(access.db, model.id, version);
  if (!row) throw versionMissing(name, version);
  return { model, version: row, level };
}

export interface SignableArtifact {
  model: Pick<ModelRow, 'id' | 'name' | 'acl_epoch'>;
  version: number;
  file: Pick<ArtifactRow, 'size' | 'etag'>;
}

/**
 * Model, version and file in one statement (none when warm): the hot path of get-signed-download-uri. Only the columns the
 * decision and the token need: every column costs a property on every row node:sqlite builds.
 */
const SIGNABLE_SQL = `SELECT m.id, m.name, m.acl_epoch, v.version AS v_version, a.size AS a_size, a.etag AS a_etag
  FROM registered_models m
  LEFT JOIN model_versions v ON v.model_id = m.id AND v.version = ?2
  LEFT JOIN artifacts a ON a.storage_id = v.storage_id AND a.path = ?3
  WHERE m.name = ?1`;

type SignableRow = Pick<ModelRow, 'id' | 'name' | 'acl_epoch'> & { v_version: number | null; a_size: number | null; a_etag: string | null };

/**
 * The file a reader may get a signed URI for, answering in the order the clients expect: missing (or hidden)
 * model, then missing version, then missing file.
 */
export async function signableArtifact(
  access: { db: SqlDb; acl: AclCache; rows: DataCache },
  principal: Principal,
  name: string,
  version: number,
  path: string,
): Promise<SignableArtifact> {
  // Warm, from memory under the data epoch the request read: any write to these rows moves it.
  const row = await access.rows.through(`sign\0${name}\0${version}\0${path}`, principal.epochs, () =>
    access.db.prepare(SIGNABLE_SQL).bind(name, version, path).first<SignableRow>(),
  );
  if (!row) throw modelNotFound(name);
  const { v_version, a_size, a_etag, ...model } = row;
  enforce(model, await levelOn(access, principal, model), { kind: 'view' });
  if (v_version === null) throw versionMissing(name, version);
  if (a_size === null || a_etag === null) {
    throw notFound(`No artifact at path '${path}' in model version (name=${name}, version=${version}).`);
  }
  return { model, version: v_version, file: { size: a_size, etag: a_etag } };
}
