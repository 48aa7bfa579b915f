/**
 * @module regate
 * regate as a user runs it: `node src/runtime/node.ts` from the repo root (PORT=0, HOST=127.0.0.1, a fresh
 * REGATE_DATA_DIR, REGATE_ADMIN_TOKEN chosen here), then set up over its HTTP API only: SCIM users, tokens
 * made on their behalf, models, raw DBFS uploads, model-versions/create, grants through the Permissions API.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { NODE, ROOT } from './paths.ts';
import { spawnLogged, waitForLog, type Child } from './procs.ts';
import { ok } from './http.ts';

export const SCIM = '/api/2.0/preview/scim/v2';
export const RM = '/api/2.0/mlflow/registered-models';
export const MV = '/api/2.0/mlflow/model-versions';
export const UPLOAD_AREA = '/databricks/mlflow/tmp-external-source';

export interface Regate {
  url: string;
  adminToken: string;
  dataDir: string;
  child: Child;
  /** How it was started (for the results file; the admin token is shown as <admin token>). */
  command: string;
}

export async function startRegate(workDir: string, label: string, extraEnv: Record<string, string> = {}): Promise<Regate> {
  mkdirSync(workDir, { recursive: true });
  const dataDir = join(workDir, 'data');
  const adminToken = `dapi${randomBytes(16).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(REGATE_|DATABRICKS_|MLFLOW_)/.test(k)) env[k] = v;
  }
  Object.assign(env, { PORT: '0', HOST: '127.0.0.1', REGATE_DATA_DIR: dataDir, REGATE_ADMIN_TOKEN: adminToken, ...extraEnv });
  const child = spawnLogged({
    name: `regate (${label})`,
    cmd: NODE,
    args: ['src/runtime/node.ts'],
    cwd: ROOT,
    env,
    logPath: join(workDir, 'regate.log'),
  });
  try {
    const m = await waitForLog(child, /regate listening on (http:\/\/\S+)/, 60_000);
    const shown = Object.entries({ PORT: '0', REGATE_DATA_DIR: '<tmp>/data', REGATE_ADMIN_TOKEN: '<admin token>', ...extraEnv })
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    return { url: m[1]!, adminToken, dataDir, child, command: `${shown} node src/runtime/node.ts` };
  } catch (e) {
    await child.stop();
    throw e;
  }
}

export interface Identity {
  id: string;
  name: string;
  token: string;
}

/** A user made by the admin through SCIM, with a token made on its behalf (regate's `user_name` extension). */
export async function makeUser(rg: Regate, name: string): Promise<Identity> {
  const u = await ok(rg.url, 'POST', `${SCIM}/Users`, { token: rg.adminToken, json: { userName: name } });
  const t = await ok(rg.url, 'POST', '/api/2.0/token-management/on-behalf-of/tokens', {
    token: rg.adminToken,
    json: { user_name: name, comment: 'bench', lifetime_seconds: 86_400 },
  });
  return { id: String(u.json.id), name, token: String(t.json.token_value) };
}

export async function createModel(rg: Regate, token: string, name: string): Promise<void> {
  await ok(rg.url, 'POST', `${RM}/create`, { token, json: { name } });
}

/** Raw DBFS upload, as `mlflow.register_model` sends it; returns nothing (200 `{}`). */
export async function upload(rg: Regate, token: string, uploadId: string, rel: string, bytes: Uint8Array): Promise<void> {
  await ok(rg.url, 'POST', `/dbfs${UPLOAD_AREA}/${uploadId}/${rel}`, { token, raw: bytes });
}

/** model-versions/create; the version must come back READY. Returns its number. */
export async function createVersion(rg: Regate, token: string, name: string, source: string): Promise<string> {
  const r = await ok(rg.url, 'POST', `${MV}/create`, { token, json: { name, source } });
  const mv = r.json?.model_version;
  if (mv?.status !== 'READY') throw new Error(`model-versions/create for ${name} answered status ${mv?.status}: ${r.text.slice(0, 300)}`);
  return String(mv.version);
}

export async function modelId(rg: Regate, token: string, name: string): Promise<string> {
  const r = await ok(rg.url, 'GET', '/api/2.0/mlflow/databricks/registered-models/get', { token, query: { name } });
  return String(r.json.registered_model_databricks.id);
}

/** Adds one direct grant through the Permissions API (PATCH keeps the others). */
export async function grant(rg: Regate, token: string, id: string, userName: string, level: string): Promise<void> {
  await ok(rg.url, 'PATCH', `/api/2.0/permissions/registered-models/${id}`, {
    token,
    json: { access_control_list: [{ user_name: userName, permission_level: level }] },
  });
}
