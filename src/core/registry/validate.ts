/**
 * @module validate
 * Input rules shared by the model and version operations: names, version numbers, tags, and where a
 * version's files live (`model_dir`). Every failure is INVALID_PARAMETER_VALUE, never a 500.
 */
import { invalid } from '../errors.ts';

export const NAME_MAX = 256;
export const TAG_KEY_MAX = 250;
export const TAG_VALUE_MAX = 5000;
/** Tags accepted in one create request; keeps every batch small. */
export const TAGS_PER_REQUEST_MAX = 100;

export interface TagInput {
  key: string;
  value: string;
}

/** @example validateName('my-model') // 'my-model' */
export function validateName(raw: unknown, param = 'name'): string {
  if (typeof raw !== 'string' || raw.length === 0) throw invalid(`Registered model ${param} cannot be empty.`);
  if (raw.length > NAME_MAX) throw invalid(`Registered model ${param} is longer than ${NAME_MAX} characters.`);
  return raw;
}

/**
 * A model version number: a positive integer given as a decimal string (MLflow) or a JSON number (SDK).
 * @example parseVersion('3') // 3
 */
export function parseVersion(raw: unknown): number {
  let n = NaN;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && /^[0-9]{1,15}$/.test(raw)) n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw invalid(`Invalid value ${JSON.stringify(raw ?? null)} for parameter 'version': must be a positive integer.`);
  }
  return n;
}

export function validateTagKey(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length === 0) throw invalid('Tag key cannot be empty.');
  if (raw.length > TAG_KEY_MAX) throw invalid(`Tag key '${raw.slice(0, 40)}…' is longer than ${TAG_KEY_MAX} characters.`);
  return raw;
}

export function validateTagValue(raw: unknown, key: string): string {
  if (typeof raw !== 'string') throw invalid(`Tag '${key}': value must be a string.`);
  if (raw.length > TAG_VALUE_MAX) throw invalid(`Tag '${key}': value is longer than ${TAG_VALUE_MAX} characters.`);
  return raw;
}

/**
 * The `tags` list of a create request. A key given twice keeps its last value, as repeated set-tag calls would.
 * @example validateTags([{ key: 'team', value: 'ml' }])
 */
export function validateTags(list: Record<string, unknown>[]): TagInput[] {
  if (list.length > TAGS_PER_REQUEST_MAX) throw invalid(`At most ${TAGS_PER_REQUEST_MAX} tags may be given at once.`);
  const byKey = new Map<string, string>();
  for (const t of list) {
    const key = validateTagKey(t.key);
    byKey.set(key, validateTagValue(t.value ?? '', key));
  }
  return [...byKey].map(([key, value]) => ({ key, value }));
}

/**
 * The directory name a version's files are kept under: the last path segment of its source, as Databricks
 * shows in `dbfs:/databricks/mlflow-registry/<id>/models/<dir>`. Anything that could not be a plain directory
 * name (dot segments, separators, escapes, control characters) falls back to `model`.
 * @example modelDirOf('dbfs:/databricks/mlflow/tmp-external-source/abc/my_model/') // 'my_model'
 */
export function modelDirOf(source: string): string {
  const path = source.replace(/[?#].*$/, '').replace(/\/+$/, '');
  const slash = path.lastIndexOf('/');
  if (slash < 0) return 'model';
  const seg = path.slice(slash + 1);
  if (seg === '' || seg === '.' || seg === '..' || seg.length > 255) return 'model';
  if (/[\x00-\x1f\x7f\\%:]/.test(seg)) return 'model';
  return seg;
}
