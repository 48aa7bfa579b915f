/**
 * @module artifact-path
 * The `path` parameter of list-artifacts / get-signed-download-uri, made canonical or refused. Refuse, never
 * repair: after the one percent-decode of the query parser nothing may still look encoded, and nothing may name storage directly
 * (range-and-signing.md §2.3; MLflow's validate_path_is_safe and CVE-2023-1177/2356/2780/6730/6909).
 */
import { invalid } from '../errors.ts';

export const SUPPORTED_WAY =
  'Model files are reached only through /api/2.0/mlflow/model-versions/get-download-uri, list-artifacts and ' +
  'get-signed-download-uri (or the MLflow client, e.g. mlflow.artifacts.download_artifacts("models:/NAME/VERSION")).';

/** Schemes and mount points that name storage directly. */
const FOREIGN = /^(?:[a-z][a-z0-9+.-]*:|\/?(?:dbfs|volumes)(?:\/|$))/i;
const MAX_KEY_BYTES = 1024;

/**
 * The canonical relative path ('' for the root) of an already-decoded parameter value, or a 400 INVALID_PARAMETER_VALUE that names the supported way.
 * @example canonicalArtifactPath('data/model.pkl') // 'data/model.pkl'
 * @example canonicalArtifactPath('../x') // throws
 */
export function canonicalArtifactPath(raw: string): string {
  const refuse = (why: string) => invalid(`Invalid artifact path '${printable(raw)}': ${why}. ${SUPPORTED_WAY}`);
  // The query or JSON parser has already decoded the value once; an escape still present means double
  // encoding (CVE-2023-6730 class) or an encoded separator, so refuse it rather than decode again.
  const decoded = raw;
  if (/%[0-9a-f]{2}/i.test(decoded)) throw refuse('percent-encoded characters');
  if (FOREIGN.test(decoded)) throw refuse('paths must be relative to the model version, not storage locations');
  if (/[\x00-\x1f\x7f]/.test(decoded)) throw refuse('control characters');
  if (decoded.includes('\\')) throw refuse('backslashes');
  if (/[#?]/.test(decoded)) throw refuse("'#' and '?'");
  if (/[\uff0e\uff0f\uff1a\uff3c]/.test(decoded)) throw refuse('full-width separators');
  if (decoded.startsWith('/')) throw refuse('absolute paths');
  if (new TextEncoder().encode(decoded).length > MAX_KEY_BYTES) throw refuse('longer than 1024 bytes');
  const trimmed = decoded.endsWith('/') ? decoded.slice(0, -1) : decoded;
  if (trimmed === '') return '';
  for (const seg of trimmed.split('/')) {
    if (seg === '') throw refuse('empty segments');
    if (seg === '.' || seg === '..') throw refuse('dot segments');
    if (/[. ]$/.test(seg)) throw refuse('segments ending in a dot or space');
  }
  return trimmed;
}

function printable(s: string): string {
  const cut = s.length > 200 ? `${s.slice(0, 200)}…` : s;
  return cut.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
