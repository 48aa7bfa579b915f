/**
 * @module registered-models
 * Registered-model endpoints: the MLflow OSS paths the MLflow client calls and the Databricks paths the SDK
 * calls (databricks/registered-models/get, list). Handlers only read parameters and shape responses; the
 * rules live in core/registry. Alias endpoints answer as Databricks does for the Workspace Model Registry.
 */
import type { Ctx, Route } from '../env.ts';
import { GatewayError } from '../../core/errors.ts';
import { params } from '../params.ts';
import { ok } from '../respond.ts';
import { memoized } from '../answer-memo.ts';
import { MLFLOW, searchParams } from '../registry-params.ts';
import {
  createModel,
  deleteModel,
  deleteModelTag,
  getLatestVersions,
  getModel,
  getModelDatabricks,
  renameModel,
  setModelTag,
  updateModel,
} from '../../core/registry/models.ts';
import { listModels, searchModels } from '../../core/registry/search.ts';
import { parseStage } from '../../core/registry/stages.ts';

const RM = `${MLFLOW}/registered-models`;

/** Default and largest page of registered-models/search and /list (MLflow's SEARCH_REGISTERED_MODEL_MAX_RESULTS). */
const MODELS_PAGE_DEFAULT = 100;
const MODELS_PAGE_MAX = 1000;

async function create(c: Ctx) {
  const p = await params(c);
  const deps = c.var.deps;
  const description = p.str('description', { optional: true });
  const model = await createModel(deps, c.var.principal, deps.config.modelCreatorsGroup, {
    name: p.str('name'),
    tags: p.objList('tags'),
    ...(description !== undefined ? { description } : {}),
  });
  return ok(c, { registered_model: model });
}

async function get(c: Ctx) {
  // A hot metadata read (every load_model resolves its model first): served from the memo while it holds.
  return memoized(c, async () => {
    const p = await params(c);
    return { json: { registered_model: await getModel(c.var.deps, c.var.principal, p.str('name')) } };
  });
}

async function getDatabricks(c: Ctx) {
  const p = await params(c);
  return ok(c, { registered_model_databricks: await getModelDatabricks(c.var.deps, c.var.principal, p.str('name')) });
}

async function update(c: Ctx) {
  const p = await params(c);
  const model = await updateModel(c.var.deps, c.var.principal, p.str('name'), p.str('description', { optional: true }));
  return ok(c, { registered_model: model });
}

async function rename(c: Ctx) {
  const p = await params(c);
  const model = await renameModel(c.var.deps, c.var.principal, p.str('name'), p.str('new_name'));
  return ok(c, { registered_model: model });
}

async function remove(c: Ctx) {
  const p = await params(c);
  await deleteModel(c.var.deps, c.var.principal, p.str('name'));
  return ok(c);
}

async function search(c: Ctx) {
  const p = await params(c);
  const max = Math.min(MODELS_PAGE_MAX, c.var.deps.config.maxSearchResults);
  const page = await searchModels(c.var.deps.db, c.var.principal, searchParams(p, MODELS_PAGE_DEFAULT, max));
  return ok(c, { registered_models: page.items, ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}) });
}

async function list(c: Ctx) {
  const p = await params(c);
  const max = Math.min(MODELS_PAGE_MAX, c.var.deps.config.maxSearchResults);
  const input = searchParams(p, MODELS_PAGE_DEFAULT, max, false);
  const page = await listModels(c.var.deps.db, c.var.principal, input.maxResults, input.pageToken);
  return ok(c, { registered_models: page.items, ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}) });
}

async function latestVersions(c: Ctx) {
  const p = await params(c);
  const stages = p.strList('stages').map(parseStage);
  const versions = await getLatestVersions(c.var.deps, c.var.principal, p.str('name'), stages);
  return ok(c, { model_versions: versions });
}

async function setTag(c: Ctx) {
  const p = await params(c);
  await setModelTag(c.var.deps, c.var.principal, p.str('name'), p.str('key'), p.str('value', { allowEmpty: true }));
  return ok(c);
}

async function deleteTag(c: Ctx) {
  const p = await params(c);
  await deleteModelTag(c.var.deps, c.var.principal, p.str('name'), p.str('key'));
  return ok(c);
}

/** What Databricks answers for the OSS alias endpoints: aliases exist only in Unity Catalog. */
function aliasUnsupported(): never {
  throw new GatewayError(
    'ENDPOINT_NOT_FOUND',
    'Registered model aliases are not supported in the Workspace Model Registry. ' +
      'Use models in Unity Catalog to set, delete or resolve aliases.',
  );
}

export const routes: Route[] = [
  { method: 'POST', path: `${RM}/create`, handler: create },
  { method: 'GET', path: `${RM}/get`, handler: get },
  { method: 'GET', path: `${MLFLOW}/databricks/registered-models/get`, handler: getDatabricks },
  { method: 'PATCH', path: `${RM}/update`, handler: update },
  { method: 'POST', path: `${RM}/rename`, handler: rename },
  { method: 'DELETE', path: `${RM}/delete`, handler: remove },
  { method: 'GET', path: `${RM}/search`, handler: search },
  { method: 'GET', path: `${RM}/list`, handler: list },
  { method: 'POST', path: `${RM}/get-latest-versions`, handler: latestVersions },
  { method: 'GET', path: `${RM}/get-latest-versions`, handler: latestVersions },
  { method: 'POST', path: `${RM}/set-tag`, handler: setTag },
  { method: 'DELETE', path: `${RM}/delete-tag`, handler: deleteTag },
  { method: 'POST', path: `${RM}/alias`, handler: aliasUnsupported },
  { method: 'DELETE', path: `${RM}/alias`, handler: aliasUnsupported },
  { method: 'GET', path: `${RM}/alias`, handler: aliasUnsupported },
];
