/**
 * @module model-versions
 * Model-version endpoints: the MLflow OSS paths and the SDK's databricks/model-versions/transition-stage.
 * Handlers read parameters and shape responses; the rules live in core/registry.
 */
import type { Ctx, Route } from '../env.ts';
import { params, type Params } from '../params.ts';
import { ok } from '../respond.ts';
import { MLFLOW, searchParams, stageParam, versionParam } from '../registry-params.ts';
import {
  authorizeVersion,
  createVersion,
  deleteVersion,
  deleteVersionTag,
  getDownloadUri,
  getVersion,
  setVersionTag,
  updateVersion,
  versionJson,
} from '../../core/registry/versions.ts';
import { searchVersions } from '../../core/registry/search.ts';
import { applyTransition } from '../../core/registry/transition.ts';
import { openRequests, versionKey, versionTags } from '../../core/registry/load.ts';
import { renderModelVersionDatabricks } from '../../core/registry/render.ts';

const MV = `${MLFLOW}/model-versions`;

/** Default and largest page of model-versions/search (MLflow's client default and the server's cap). */
const VERSIONS_PAGE_DEFAULT = 10_000;
const VERSIONS_PAGE_MAX = 200_000;

const SOURCE_MAX = 4096;
const RUN_ID_MAX = 256;
const RUN_LINK_MAX = 4096;

async function create(c: Ctx) {
  const p = await params(c);
  const runId = p.str('run_id', { optional: true, max: RUN_ID_MAX });
  const runLink = p.str('run_link', { optional: true, max: RUN_LINK_MAX });
  const description = p.str('description', { optional: true });
  const version = await createVersion(c.var.deps, c.var.principal, {
    name: p.str('name'),
    source: p.str('source', { max: SOURCE_MAX }),
    tags: p.objList('tags'),
    ...(runId !== undefined ? { runId } : {}),
    ...(runLink !== undefined ? { runLink } : {}),
    ...(description !== undefined ? { description } : {}),
  });
  return ok(c, { model_version: version });
}

async function get(c: Ctx) {
  const p = await params(c);
  return ok(c, { model_version: await getVersion(c.var.deps, c.var.principal, p.str('name'), versionParam(p)) });
}

async function update(c: Ctx) {
  const p = await params(c);
  const description = p.str('description', { optional: true });
  const version = await updateVersion(c.var.deps, c.var.principal, p.str('name'), versionParam(p), description);
  return ok(c, { model_version: version });
}

async function remove(c: Ctx) {
  const p = await params(c);
  await deleteVersion(c.var.deps, c.var.principal, p.str('name'), versionParam(p));
  return ok(c);
}

async function search(c: Ctx) {
  const p = await params(c);
  const page = await searchVersions(c.var.deps.db, c.var.principal, searchParams(p, VERSIONS_PAGE_DEFAULT, VERSIONS_PAGE_MAX));
  return ok(c, { model_versions: page.items, ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}) });
}

async function setTag(c: Ctx) {
  const p = await params(c);
  await setVersionTag(c.var.deps, c.var.principal, p.str('name'), versionParam(p), p.str('key'), p.str('value', { allowEmpty: true }));
  return ok(c);
}

async function deleteTag(c: Ctx) {
  const p = await params(c);
  await deleteVersionTag(c.var.deps, c.var.principal, p.str('name'), versionParam(p), p.str('key'));
  return ok(c);
}

async function downloadUri(c: Ctx) {
  const p = await params(c);
  return ok(c, { artifact_uri: await getDownloadUri(c.var.deps, c.var.principal, p.str('name'), versionParam(p)) });
}

/** Both transition endpoints: validate, authorize view, then let applyTransition check the stage rule. */
async function transition(c: Ctx, p: Params) {
  const name = p.str('name');
  const version = versionParam(p);
  const stage = stageParam(p);
  const archive = p.bool('archive_existing_versions', false);
  const comment = p.str('comment', { optional: true });
  const deps = c.var.deps;
  const { model, level } = await authorizeVersion(deps, c.var.principal, name, version, { kind: 'view' });
  const row = await applyTransition(deps, c.var.principal, model, level, version, stage, archive, {
    activityType: 'APPLIED_TRANSITION',
    ...(comment !== undefined ? { comment } : {}),
  });
  return { model, level, row };
}

async function transitionOss(c: Ctx) {
  const { model, row } = await transition(c, await params(c));
  return ok(c, { model_version: await versionJson(c.var.deps.db, model.name, row) });
}

async function transitionDatabricks(c: Ctx) {
  const { model, level, row } = await transition(c, await params(c));
  const db = c.var.deps.db;
  const [tags, open] = await Promise.all([versionTags(db, [row]), openRequests(db, row.model_id, row.version)]);
  const body = renderModelVersionDatabricks(row, model.name, tags.get(versionKey(row.model_id, row.version)), level, open);
  return ok(c, { model_version_databricks: body });
}

export const routes: Route[] = [
  { method: 'POST', path: `${MV}/create`, handler: create },
  { method: 'GET', path: `${MV}/get`, handler: get },
  { method: 'PATCH', path: `${MV}/update`, handler: update },
  { method: 'DELETE', path: `${MV}/delete`, handler: remove },
  { method: 'GET', path: `${MV}/search`, handler: search },
  { method: 'POST', path: `${MV}/set-tag`, handler: setTag },
  { method: 'DELETE', path: `${MV}/delete-tag`, handler: deleteTag },
  { method: 'GET', path: `${MV}/get-download-uri`, handler: downloadUri },
  { method: 'POST', path: `${MV}/transition-stage`, handler: transitionOss },
  { method: 'POST', path: `${MLFLOW}/databricks/model-versions/transition-stage`, handler: transitionDatabricks },
];
