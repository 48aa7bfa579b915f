/**
 * @module dbfs-path
 * What a DBFS path names, for the DBFS API and the raw `/dbfs/...` routes. Two areas exist: the managed
 * registry storage `/databricks/mlflow-registry/<storage id>/models/<dir>/...` (read-only, CAN_READ on the
 * owning model) and the caller's private upload area `/databricks/mlflow/tmp-external-source/<id>/...`.
 * Repeated slashes are folded (MLflow sends `tmp-external-source//<id>`); anything else that is not
 * canonical is refused.
 */
import { invalid } from '../errors.ts';
import { canonicalArtifactPath } from './artifact-path.ts';

export const MANAGED_PREFIX = '/databricks/mlflow-registry';
export const UPLOAD_PREFIX = '/databricks/mlflow/tmp-external-source';

export type DbfsTarget =
  | { area: 'managed_root' }
  | { area: 'managed'; storageId: string; rest: string }
  | { area: 'upload_root' }
  | { area: 'upload'; path: string }
  | { area: 'other'; path: string };

/** @example parseDbfsPath('dbfs:/databricks/mlflow-registry/abc/models/m/MLmodel') */
export function parseDbfsPath(raw: string): DbfsTarget {
  let p = raw;
  if (/^dbfs:/i.test(p)) p = p.slice(5);
  if (!p.startsWith('/')) throw invalid(`DBFS paths must be absolute: '${raw.slice(0, 200)}'.`);
  p = p.replace(/\/{2,}/g, '/');
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  // The same refusal rules as artifact paths, on the path below the leading slash.
  const canonical = `/${canonicalArtifactPath(p.slice(1))}`;
  const lower = canonical.toLowerCase();
  if (lower === MANAGED_PREFIX || lower === '/databricks' || lower === '/') {
    return lower === MANAGED_PREFIX ? { area: 'managed_root' } : { area: 'other', path: canonical };
  }
  if (lower.startsWith(`${MANAGED_PREFIX}/`)) {
    const [storageId, ...rest] = canonical.slice(MANAGED_PREFIX.length + 1).split('/');
    return { area: 'managed', storageId: storageId!, rest: rest.join('/') };
  }
  if (canonical === UPLOAD_PREFIX) return { area: 'upload_root' };
  if (canonical.startsWith(`${UPLOAD_PREFIX}/`)) return { area: 'upload', path: canonical };
  return { area: 'other', path: canonical };
}
