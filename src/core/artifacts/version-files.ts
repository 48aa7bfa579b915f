/**
 * @module version-files
 * The gate and lookups for a version's files by model name and version number, as list-artifacts and
 * get-signed-download-uri are called: a fresh CAN_READ decision (never a cache entry older than the model's
 * last permission change), then the artifact index.
 */
import type { SqlDb } from '../ports.ts';
import type { Principal } from '../identity/principal.ts';
import type { AclCache } from '../access/acl-cache.ts';
import { notFound } from '../errors.ts';
import { enforce } from '../access/authorize.ts';
import { modelByName, versionRow, type ModelRow, type VersionRow } from '../registry/rows.ts';
import { modelNotFound } from '../access/authorize.ts';
import { levelFor } from './storage-access.ts';
import type { Level } from '../access/levels.ts';

export interface VersionAccess {
  model: ModelRow;
  version: VersionRow;
  level: Level;
}

export async function readableVersion(db: SqlDb, acl: AclCache | undefined, principal: Principal, name: string, version: number): Promise<VersionAccess> {
  const model = await modelByName(db, name);
  if (!model) throw modelNotFound(name);
  const level = await levelFor(db, acl, principal, model);
  enforce(name, level, { kind: 'view' });
  const row = await versionRow(db, model.id, version);
  if (!row) throw notFound(`Model Version (name=${name}, version=${version}) not found`);
  return { model, version: row, level };
}
