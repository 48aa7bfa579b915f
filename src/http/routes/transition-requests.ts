/**
 * @module transition-requests
 * Databricks-only stage transition requests (wire-protocol §4.2), as the SDK calls them: create, approve,
 * reject (POST, JSON body), cancel (DELETE, query string) and list (GET). Every parameter is validated
 * before the model is looked up.
 */
import { invalid } from '../../core/errors.ts';
import { parseStage } from '../../core/registry/stages.ts';
import { parseVersion } from '../../core/registry/validate.ts';
import {
  approveRequest,
  cancelRequest,
  createRequest,
  listRequests,
  rejectRequest,
  type RequestTarget,
} from '../../core/registry/requests.ts';
import type { Ctx, Route } from '../env.ts';
import { params, type Params } from '../params.ts';
import { ok } from '../respond.ts';

const BASE = '/api/2.0/mlflow/transition-requests';
const COMMENT_MAX = 65536;

/** `name` and `version`, the key of every per-version Databricks call (comments too). */
export function nameAndVersion(p: Params): { name: string; version: number } {
  const name = p.str('name', { max: 256 });
  if (!p.has('version')) throw invalid(`Missing value for required parameter 'version'.`);
  return { name, version: parseVersion(p.values.version) };
}

function target(p: Params): RequestTarget {
  const stage = parseStage(p.str('stage'));
  const comment = p.str('comment', { optional: true, max: COMMENT_MAX });
  return { ...nameAndVersion(p), stage, ...(comment ? { comment } : {}) };
}

export const routes: Route[] = [
  {
    method: 'POST',
    path: `${BASE}/create`,
    handler: async (c: Ctx) => {
      const t = target(await params(c));
      return ok(c, { request: await createRequest(c.var.deps, c.var.principal, t) });
    },
  },
  {
    method: 'POST',
    path: `${BASE}/approve`,
    handler: async (c: Ctx) => {
      const p = await params(c);
      const t = target(p);
      if (!p.has('archive_existing_versions')) throw invalid(`Missing value for required parameter 'archive_existing_versions'.`);
      const archiveExisting = p.bool('archive_existing_versions', false);
      return ok(c, { activity: await approveRequest(c.var.deps, c.var.principal, { ...t, archiveExisting }) });
    },
  },
  {
    method: 'POST',
    path: `${BASE}/reject`,
    handler: async (c: Ctx) => {
      const t = target(await params(c));
      return ok(c, { activity: await rejectRequest(c.var.deps, c.var.principal, t) });
    },
  },
  {
    method: 'DELETE',
    path: `${BASE}/delete`,
    handler: async (c: Ctx) => {
      const p = await params(c);
      const t = target(p);
      const creator = p.str('creator', { max: 1024 });
      return ok(c, { activity: await cancelRequest(c.var.deps, c.var.principal, { ...t, creator }) });
    },
  },
  {
    method: 'GET',
    path: `${BASE}/list`,
    handler: async (c: Ctx) => {
      const { name, version } = nameAndVersion(await params(c));
      return ok(c, { requests: await listRequests(c.var.deps, c.var.principal, name, version) });
    },
  },
];
