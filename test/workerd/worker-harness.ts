/**
 * @module worker-harness (workerd test helper)
 * harness.ts's interface (`makeHarness`, `call`, `expectOk`, `user`, …) over the Worker entry itself, running
 * inside workerd with wrangler.toml's bindings (D1 `DB`, R2 `ARTIFACTS`) and the test secrets of
 * vitest.config.ts. Every request goes through `createWorker().fetch(request, env, ctx)`, the function the
 * deployed Worker's default export is, with a real ExecutionContext whose waitUntil work (the audit flush, a
 * download's pipe) is awaited after the body is read, as the runtime would.
 *
 * The workerd vitest project aliases `test/helpers/harness.ts` to this file, so Node suites written against
 * the harness (the permission matrix, the artifact matrix) run unchanged against the Worker. Storage is fresh
 * per test file (the plugin isolates it), and the first admin comes from REGATE_ADMIN_TOKEN.
 *
 * This file must not import harness.ts for values (the alias would make it import itself); types are fine.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { createWorker } from '../../src/runtime/worker.ts';
import { manualClock } from '../../src/core/clock.ts';
import type { Logger } from '../../src/core/ports.ts';
import type { WorkerEnv } from '../../src/runtime/worker-env.ts';
import type { CallOptions, CallResult, Identity } from '../helpers/harness.ts';

export type { CallOptions, CallResult, Identity };
export const SCIM = '/api/2.0/preview/scim/v2';
export const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
export const DEFAULT_TEST_ENV: Record<string, string> = { REGATE_EXTERNAL_SOURCE_PREFIXES: 's3://' };
/** The origin requests are sent to: loopback, so signed URIs are minted without REGATE_PUBLIC_ORIGINS. */
export const ORIGIN = 'http://localhost';

/** The bindings and secrets of the workerd project, with `extra` vars on top. */
export function workerEnv(extra: Record<string, string> = {}): WorkerEnv {
  return { ...(env as unknown as WorkerEnv), ...extra };
}

/** One request through a Worker's fetch with its own ExecutionContext; the body is read before waitUntil is awaited. */
export async function fetchWorker(
  worker: ReturnType<typeof createWorker>,
  wenv: WorkerEnv,
  path: string,
  init: RequestInit = {},
): Promise<{ res: Response; body: Uint8Array }> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(path.startsWith('http') ? path : `${ORIGIN}${path}`, init), wenv, ctx);
  const body = new Uint8Array(await res.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return { res, body };
}

export async function makeHarness(opts: { env?: Record<string, string> } = {}) {
  const clock = manualClock(T0);
  const logLines: Array<{ level: string; event: string; fields: Record<string, unknown> }> = [];
  const logger: Logger = {
    info: (event, fields = {}) => logLines.push({ level: 'info', event, fields }),
    warn: (event, fields = {}) => logLines.push({ level: 'warn', event, fields }),
    error: (event, fields = {}) => logLines.push({ level: 'error', event, fields }),
  };
  const wenv = workerEnv(opts.env ?? DEFAULT_TEST_ENV);
  // No delivery pass after writes: harness.ts on Node has no webhook dispatcher either; tests call deliverDue.
  const worker = createWorker({ clock, logger, webhooksAfterWrites: false });
  const { deps } = await worker.instance(wenv);
  const adminToken = wenv.REGATE_ADMIN_TOKEN as string;

  /** `app.request` of harness.ts, through the Worker's fetch (the body already read and re-wrapped). */
  const app = {
    async request(path: string, init: RequestInit = {}): Promise<Response> {
      const { res, body } = await fetchWorker(worker, wenv, path, init);
      const empty = res.status === 204 || res.status === 304 || init.method === 'HEAD';
      return new Response(empty ? null : (body as Uint8Array<ArrayBuffer>), { status: res.status, headers: res.headers });
    },
  };

  async function call(method: string, path: string, o: CallOptions = {}): Promise<CallResult> {
    const url = new URL(`${ORIGIN}${path}`);
    for (const [k, v] of Object.entries(o.query ?? {})) {
      if (v === undefined) continue;
      for (const x of Array.isArray(v) ? v : [v]) url.searchParams.append(k, x);
    }
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    const token = o.token === undefined ? adminToken : o.token;
    if (token !== null && headers.Authorization === undefined) headers.Authorization = `Bearer ${token}`;
    let body: string | undefined = o.rawBody;
    if (body === undefined && o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['Content-Type'] = 'application/json';
    }
    // The path as given (not url.pathname) plus the query, so path variants reach the runtime as written.
    const target = `${path}${url.search}`;
    const { res, body: bytes } = await fetchWorker(worker, wenv, target, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = new TextDecoder().decode(bytes);
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers };
  }

  async function expectOk(method: string, path: string, o: CallOptions = {}) {
    const r = await call(method, path, o);
    if (r.status !== 200) throw new Error(`${method} ${path} -> ${r.status} ${r.text}`);
    return r.json;
  }

  async function user(name: string): Promise<Identity> {
    const u = await expectOk('POST', `${SCIM}/Users`, { body: { userName: name } });
    const t = await expectOk('POST', '/api/2.0/token-management/on-behalf-of/tokens', { body: { user_name: name } });
    return { id: u.id, name, token: t.token_value };
  }

  async function servicePrincipal(displayName: string): Promise<Identity> {
    const sp = await expectOk('POST', `${SCIM}/ServicePrincipals`, { body: { displayName } });
    const t = await expectOk('POST', '/api/2.0/token-management/on-behalf-of/tokens', { body: { application_id: sp.applicationId } });
    return { id: sp.id, name: sp.applicationId, token: t.token_value };
  }

  async function group(displayName: string, memberIds: string[] = []): Promise<{ id: string; name: string }> {
    const g = await expectOk('POST', `${SCIM}/Groups`, { body: { displayName, members: memberIds.map((value) => ({ value })) } });
    return { id: g.id, name: displayName };
  }

  const patchMembers = (groupId: string, op: object) =>
    expectOk('PATCH', `${SCIM}/Groups/${groupId}`, { body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [op] } });
  const addToGroup = async (groupId: string, memberId: string) => void (await patchMembers(groupId, { op: 'add', path: 'members', value: [{ value: memberId }] }));
  const removeFromGroup = async (groupId: string, memberId: string) => void (await patchMembers(groupId, { op: 'remove', path: `members[value eq "${memberId}"]` }));

  return { app, deps, db: deps.db, clock, logLines, adminToken, worker, env: wenv, call, expectOk, user, servicePrincipal, group, addToGroup, removeFromGroup };
}

export type Harness = Awaited<ReturnType<typeof makeHarness>>;
