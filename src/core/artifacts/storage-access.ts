/**
 * @module storage-access
 * Who may read a model version's managed files: the gate shared by list-artifacts, signed URIs, the
 * download itself and the DBFS API. Always a fresh decision (the ACL cache only answers when neither the
 * model's nor the global epoch has moved), and a caller without CAN_READ learns nothing, not even that the
 * version exists.
 */
import type { SqlDb } from '../ports.ts';
import type { Principal } from '../identity/principal.ts';
import { GatewayError } from '../errors.ts';
import { decide } from '../access/policy.ts';
import { effectiveLevel } from '../access/resolve.ts';
import type { AclCache } from '../access/acl-cache.ts';
import type { Level } from '../access/levels.ts';
import { VERSION_COLUMNS, type ModelRow, type VersionRow } from '../registry/rows.ts';

export interface ReadableVersion {
  model: ModelRow;
  version: VersionRow;
  level: Level;
}

export async function levelFor(db: SqlDb, acl: AclCache | undefined, principal: Principal, model: ModelRow): Promise<Level> {
  return acl ? acl.level(db, principal, model, { fresh: true }) : effectiveLevel(db, principal, model.id);
}

/** The version whose files live under `storageId`, if the caller may read its model; otherwise null. */
export async function readableVersionByStorage(
  db: SqlDb,
  acl: AclCache | undefined,
  principal: Principal,
  storageId: string,
): Promise<ReadableVersion | null> {
  if (!/^[0-9a-f]{32}$/.test(storageId)) return null;
  const version = await db.prepare(`SELECT ${VERSION_COLUMNS} FROM model_versions WHERE storage_id = ?`).bind(storageId).first<VersionRow>();
  if (!version) return null;
  const model = await db
    .prepare('SELECT id, name, description, user_id, created_at, updated_at, next_version, acl_epoch FROM registered_models WHERE id = ?')
    .bind(version.model_id)
    .first<ModelRow>();
  if (!model) return null;
  const level = await levelFor(db, acl, principal, model);
  return decide(level, { kind: 'view' }) === 'allow' ? { model, version, level } : null;
}

export const noSuchPath = (path: string) =>
  new GatewayError('RESOURCE_DOES_NOT_EXIST', `No file or directory exists on path ${path}.`);
