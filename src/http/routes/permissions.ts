/**
 * @module permissions
 * The Permissions API for registered models: GET/PUT/PATCH `/api/2.0/permissions/registered-models/{id}`
 * and `{id}/permissionLevels`, where id is a model's 32-hex id or `root`. The SDK's generic
 * `w.permissions.*("registered-models", id)` calls hit these same paths. Model versions have no permissions
 * of their own; paths that try to address them are refused with a clear message.
 */
import { invalid } from '../../core/errors.ts';
import { ROOT } from '../../core/access/resolve.ts';
import {
  authorizePermissions,
  getPermissions,
  parseObjectId,
  permissionLevels,
  writePermissions,
  type WriteMode,
} from '../../core/access/permissions-service.ts';
import { auditStatement } from '../../core/audit.ts';
import type { Ctx, Method, Route } from '../env.ts';
import { params } from '../params.ts';
import { ok } from '../respond.ts';

const BASE = '/api/2.0/permissions/registered-models';

/** GET needs CAN_MANAGE on the model (or root CAN_MANAGE), like PUT/PATCH: the conservative choice. */
async function read(c: Ctx): Promise<Response> {
  const { db, config } = c.var.deps;
  const id = parseObjectId(c.req.param('id') ?? '');
  await authorizePermissions(c.var.deps, c.var.principal, id);
  return ok(c, await getPermissions(db, config, id));
}

function write(mode: WriteMode) {
  return async (c: Ctx): Promise<Response> => {
    const { db, config } = c.var.deps;
    const id = parseObjectId(c.req.param('id') ?? '');
    await authorizePermissions(c.var.deps, c.var.principal, id);
    const acl = (await params(c)).objList('access_control_list');
    await writePermissions(db, id, acl, mode, (summary) =>
      auditStatement(db, c.var.deps.clock, {
        principalId: c.var.principal.id,
        action: 'grant_change',
        modelId: id,
        status: 200,
        detail: summary,
      }),
    );
    // The epoch bump already makes cached levels stale everywhere; this instance also drops them now.
    if (id === ROOT) c.var.deps.acl?.invalidateAll();
    else c.var.deps.acl?.invalidateModel(id);
    return ok(c, await getPermissions(db, config, id));
  };
}

async function levels(c: Ctx): Promise<Response> {
  const id = parseObjectId(c.req.param('id') ?? '');
  return ok(c, await permissionLevels(c.var.deps, c.var.principal, id));
}

function versionsRefused(): Response {
  throw invalid('Permissions cannot be set on model versions; they inherit from the model.');
}

const ANY: Method[] = ['GET', 'PUT', 'PATCH', 'POST', 'DELETE'];
const VERSION_PATHS = [
  `${BASE}/:id/versions`,
  `${BASE}/:id/versions/*`,
  '/api/2.0/permissions/model-versions',
  '/api/2.0/permissions/model-versions/*',
  '/api/2.0/permissions/registered-model-versions',
  '/api/2.0/permissions/registered-model-versions/*',
];

export const routes: Route[] = [
  { method: 'GET', path: `${BASE}/:id/permissionLevels`, handler: levels },
  { method: 'GET', path: `${BASE}/:id`, handler: read },
  { method: 'PUT', path: `${BASE}/:id`, handler: write('replace') },
  { method: 'PATCH', path: `${BASE}/:id`, handler: write('update') },
  ...VERSION_PATHS.flatMap((path) => ANY.map((method): Route => ({ method, path, handler: versionsRefused }))),
];
