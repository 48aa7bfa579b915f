/**
 * @module registry (test helper)
 * Short-hands for registry tests: create models and versions, look up a model's id, grant a level through
 * the Permissions API, and read rows straight from the database to prove what changed (or did not).
 */
import { expect } from 'vitest';
import type { Harness } from './harness.ts';

export const MLFLOW = '/api/2.0/mlflow';
export const RM = `${MLFLOW}/registered-models`;
export const MV = `${MLFLOW}/model-versions`;
export const DBX_GET = `${MLFLOW}/databricks/registered-models/get`;

export function registry(h: Harness) {
  async function createModel(name: string, token?: string, extra: Record<string, unknown> = {}) {
    return (await h.expectOk('POST', `${RM}/create`, { body: { name, ...extra }, ...(token ? { token } : {}) })).registered_model;
  }
  async function createVersion(name: string, source = 's3://bucket/x/model', extra: Record<string, unknown> = {}, token?: string) {
    return (await h.expectOk('POST', `${MV}/create`, { body: { name, source, ...extra }, ...(token ? { token } : {}) })).model_version;
  }
  async function modelId(name: string): Promise<string> {
    return (await h.expectOk('GET', DBX_GET, { query: { name } })).registered_model_databricks.id;
  }
  /** Grants `level` on the model to a user through the Permissions API (as the admin). */
  async function grant(name: string, userName: string, level: string) {
    const id = await modelId(name);
    await h.expectOk('PATCH', `/api/2.0/permissions/registered-models/${id}`, {
      body: { access_control_list: [{ user_name: userName, permission_level: level }] },
    });
  }
  async function transition(name: string, version: string, stage: string, archive = false) {
    return (
      await h.expectOk('POST', `${MV}/transition-stage`, {
        body: { name, version, stage, archive_existing_versions: archive },
      })
    ).model_version;
  }
  async function count(sql: string, ...binds: (string | number)[]): Promise<number> {
    const r = await h.db.prepare(`SELECT COUNT(*) AS n FROM ${sql}`).bind(...binds).first<{ n: number }>();
    return r!.n;
  }
  return { createModel, createVersion, modelId, grant, transition, count };
}

/** Asserts the gateway's error shape: exactly `{error_code, message}` with the code's status. */
export function expectError(
  res: { status: number; json: { error_code: string; message: string } },
  status: number,
  code: string,
  message?: RegExp | string,
) {
  expect(res.status).toBe(status);
  expect(res.json.error_code).toBe(code);
  expect(Object.keys(res.json).sort()).toEqual(['error_code', 'message']);
  if (typeof message === 'string') expect(res.json.message).toBe(message);
  else if (message) expect(res.json.message).toMatch(message);
}
