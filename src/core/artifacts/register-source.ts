/**
 * @module register-source
 * Where a new model version's files come from, decided before anything is written:
 * - `dbfs:/databricks/mlflow/tmp-external-source/...`: the caller's own uploads (what `register_model` sends);
 * - `dbfs:/databricks/mlflow-registry/<storage id>/models/<dir>[/sub]` or `models:/<name>/<version>`: another
 *   version's managed files (`copy_model_version`), for a caller with CAN_READ on that model;
 * - a source under a configured external prefix: recorded as given, no files;
 * - anything else: refused with INVALID_PARAMETER_VALUE.
 * A source the caller cannot see is answered exactly like one that does not exist.
 */
import type { SqlDb } from '../ports.ts';
import type { Principal } from '../identity/principal.ts';
import type { AclCache } from '../access/acl-cache.ts';
import { invalid } from '../errors.ts';
import { decodeRequestComponent } from '../percent-decoding.ts';
import type { AuditSink } from '../audit.ts';
import { decide } from '../access/policy.ts';
import { modelByName, versionRow } from '../registry/rows.ts';
import { parseDbfsPath } from './dbfs-path.ts';
import { uploadAt, uploadsUnder } from './uploads.ts';
import { artifactsUnder, type CopySource } from './managed.ts';
import { readableVersionByStorage, recordReadRefusal } from './storage-access.ts';
import { levelOn } from '../access/authorize.ts';

export type SourcePlan = { kind: 'record' } | { kind: 'copy'; modelDir: string; files: CopySource[] };

export interface SourceDeps {
  db: SqlDb;
  acl: AclCache;
  audit: AuditSink;
  externalSourcePrefixes: readonly string[];
}

const missing = (source: string) =>
  invalid(
    `Model version source ${source} does not exist or holds no files. Upload the model with mlflow.register_model ` +
      '(its files go to dbfs:/databricks/mlflow/tmp-external-source/, private to the uploader for 24 hours), or ' +
      'copy an existing version with models:/<name>/<version>.',
  );

/** @example await planSource(deps, principal, 'dbfs:/databricks/mlflow/tmp-external-source/ab12/model', 'model') */
export async function planSource(deps: SourceDeps, principal: Principal, source: string, defaultDir: string): Promise<SourcePlan> {
  if (deps.externalSourcePrefixes.some((p) => source.startsWith(p))) return { kind: 'record' };

  const models = /^models:\/([^/]+)\/([0-9]{1,15})\/?$/.exec(source);
  if (models) {
    const model = await modelByName(deps.db, decodeRequestComponent(models[1]!, 'model name in source'));
    if (!model) throw missing(source);
    const level = await levelOn(deps, principal, model);
    if (decide(level, { kind: 'view' }) !== 'allow') {
      recordReadRefusal(deps.audit, principal, model.id, level, source);
      throw missing(source);
    }
    const v = await versionRow(deps.db, model.id, Number(models[2]));
    if (!v) throw missing(source);
    return fromVersion(deps.db, v.storage_id, v.model_dir, '', source);
  }

  if (!/^dbfs:\//i.test(source)) {
    throw invalid(
      `Unsupported model version source ${source}: regate registers models from dbfs:/databricks/mlflow/tmp-external-source/ ` +
        '(mlflow.register_model uploads there), from dbfs:/databricks/mlflow-registry/ or models:/<name>/<version>.',
    );
  }
  const t = parseDbfsPath(source);
  if (t.area === 'upload') {
    const single = await uploadAt(deps.db, principal.id, t.path);
    if (single) throw invalid(`Model version source ${source} is a file; give the model's directory.`);
    const under = await uploadsUnder(deps.db, principal.id, t.path);
    if (under.length === 0) throw missing(source);
    return { kind: 'copy', modelDir: defaultDir, files: under.map((u) => ({ key: u.object_key, rel: u.path.slice(t.path.length + 1), etag: u.etag })) };
  }
  if (t.area === 'managed') {
    const readable = await readableVersionByStorage(deps, principal, t.storageId);
    if (!readable) throw missing(source);
    const prefix = `models/${readable.version.model_dir}`;
    if (t.rest !== prefix && !t.rest.startsWith(`${prefix}/`)) throw missing(source);
    const sub = t.rest.slice(prefix.length + 1);
    return fromVersion(deps.db, t.storageId, sub === '' ? readable.version.model_dir : defaultDir, sub, source);
  }
  throw missing(source);
}

async function fromVersion(db: SqlDb, storageId: string, modelDir: string, sub: string, source: string): Promise<SourcePlan> {
  const files = await artifactsUnder(db, storageId, sub);
  if (files.length === 0) throw missing(source);
  return { kind: 'copy', modelDir, files: files.map((f) => ({ key: f.object_key, rel: sub === '' ? f.path : f.path.slice(sub.length + 1), etag: f.etag, sha256: f.sha256 ?? null })) };
}
