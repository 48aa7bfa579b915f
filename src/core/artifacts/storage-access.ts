/**
 * @module storage-access
 * Who may read a model version's managed files: the gate shared by list-artifacts, signed URIs, the
 * download itself and the DBFS API. The decision comes from the ACL cache, checked against the epochs the
 * request read, and a caller without CAN_READ learns nothing, not even that the version exists; its refusal
 * is still recorded in the audit trail.
 */
import type { SqlDb } from '../ports.ts';
import type { Principal } from '../identity/principal.ts';
import { GatewayError } from '../errors.ts';
import { decide, requiredLevel } from '../access/policy.ts';
import { levelOn } from '../access/authorize.ts';
import type { AclCache } from '../access/acl-cache.ts';
import type { Level } from '../access/levels.ts';
import type { AuditSink } from '../audit.ts';
import { VERSION_COLUMNS, type ModelRow, type VersionRow } from '../registry/rows.ts';

export interface ReadableVersion {
  model: ModelRow;
  version: VersionRow;
  level: Level;
}

/** Records that `principal` was refused reading a model's files (the answer itself hides the model). */
export function recordReadRefusal(audit: AuditSink, principal: Principal, modelId: string, level: Level, path: string | null): void {
  audit.record({
    principalId: principal.id,
    action: 'denied',
    modelId,
    path,
    status: 404,
    detail: `view needs ${requiredLevel({ kind: 'view' })}; has ${level}`,
  });
}

/** The version whose files live under `storageId`, if the caller may read its model; otherwise null. */
export async function readableVersionByStorage(
  access: { db: SqlDb; acl: AclCache; audit: AuditSink },
  principal: Principal,
  storageId: string,
): Promise<ReadableVersion | null> {
  if (!/^[0-9a-f]{32}$/.test(storageId)) return null;
  const { db } = access;
  const version = await db.prepare(`SELECT ${VERSION_COLUMNS} FROM model_versions WHERE storage_id = ?`).bind(storageId).first<VersionRow>();
  if (!version) return null;
  const model = await db
    .prepare('SELECT id, name, description, has_description, user_id, created_at, updated_at, next_version, acl_epoch FROM registered_models WHERE id = ?')
    .bind(version.model_id)
    .first<ModelRow>();
  if (!model) return null;
  const level = await levelOn(access, principal, model);
  if (decide(level, { kind: 'view' }) === 'allow') return { model, version, level };
  recordReadRefusal(access.audit, principal, model.id, level, `dbfs:/databricks/mlflow-registry/${storageId}`);
  return null;
}

export const noSuchPath = (path: string) =>
  new GatewayError('RESOURCE_DOES_NOT_EXIST', `No file or directory exists on path ${path}.`);
