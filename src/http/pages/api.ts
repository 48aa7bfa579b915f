/**
 * @module api
 * How a page reads and writes: by calling regate's own API routes in-process, with the signed-in caller's
 * token as the bearer. So a page goes through the very route a client would: the same parameter checks, the
 * same permission gate, the same audit of refusals and grant changes, the same error codes; a page can never
 * do what the API would refuse. The app instance is built once per set of dependencies.
 *
 * (app.ts imports the route table, which imports the pages, which import app.ts: the cycle is safe because
 * `createApp` is only called while handling a request, long after every module has loaded.)
 */
import type { Hono } from 'hono';
import { createApp } from '../app.ts';
import type { AppEnv, Ctx, Deps } from '../env.ts';

const apps = new WeakMap<Deps, Hono<AppEnv>>();

export interface ApiResult {
  ok: boolean;
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  /** The API's message on failure, in words. */
  message: string;
}

export interface ApiCall {
  query?: Record<string, string | undefined>;
  body?: unknown;
}

/** @example await api(c, token, 'GET', '/api/2.0/mlflow/registered-models/search', { query: { max_results: '50' } }) */
export async function api(c: Ctx, token: string, method: string, path: string, call: ApiCall = {}): Promise<ApiResult> {
  const deps = c.var.deps;
  let app = apps.get(deps);
  if (!app) {
    app = createApp(deps);
    apps.set(deps, app);
  }
  const url = new URL(path, c.req.url);
  for (const [k, v] of Object.entries(call.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  let body: string | undefined;
  if (call.body !== undefined) {
    body = JSON.stringify(call.body);
    headers['Content-Type'] = 'application/json';
  }
  // No runtime bindings: handlers read `c.var.deps`, and the outer request's bindings (on Node its socket, which
  // the download route may write to directly) must never be reachable from an inner call.
  const res = await app.request(url.toString(), { method, headers, body }, {});
  const text = await res.text();
  let json: unknown = {};
  try {
    json = text === '' ? {} : JSON.parse(text);
  } catch {
    json = {};
  }
  const message = res.ok ? '' : String((json as { message?: unknown }).message ?? `The request failed (HTTP ${res.status}).`);
  return { ok: res.ok, status: res.status, json, message };
}
