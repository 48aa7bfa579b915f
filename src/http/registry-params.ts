/**
 * @module registry-params
 * Request parameters shared by the registered-model and model-version routes: version numbers, stages,
 * and the search inputs (max_results bounds, repeated order_by, page_token).
 */
import { invalid } from '../core/errors.ts';
import { parseVersion } from '../core/registry/validate.ts';
import { parseStage, type Stage } from '../core/registry/stages.ts';
import type { SearchInput } from '../core/registry/search.ts';
import type { Params } from './params.ts';

export const MLFLOW = '/api/2.0/mlflow';

/** `version` as a string (MLflow) or number (SDK); must be a positive integer. */
export function versionParam(p: Params): number {
  if (!p.has('version')) throw invalid("Missing value for required parameter 'version'.");
  return parseVersion(p.values.version);
}

export function stageParam(p: Params, key = 'stage'): Stage {
  return parseStage(p.str(key));
}

/** A search's inputs; `max_results` defaults to `fallback` and may not exceed `max`. */
export function searchParams(p: Params, fallback: number, max: number, withFilter = true): SearchInput {
  const maxResults = p.int('max_results', { min: 1, max, fallback })!;
  const filter = withFilter ? p.str('filter', { optional: true }) : undefined;
  const pageToken = p.str('page_token', { optional: true, max: 200 });
  return {
    maxResults,
    orderBy: withFilter ? p.strList('order_by') : [],
    ...(filter !== undefined ? { filter } : {}),
    ...(pageToken !== undefined ? { pageToken } : {}),
  };
}
