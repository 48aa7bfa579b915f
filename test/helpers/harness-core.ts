/**
 * @module harness-core (test helper)
 * What every in-process harness shares, whatever regate it drives: the call shapes (`CallOptions`,
 * `CallResult`, `Identity`), the test clock's start, a logger that records its lines, and the API client
 * (`call`, `expectOk`, and identities made through SCIM and the token API, as a user would). harness.ts (Node,
 * SQLite), d1-harness.ts (D1) and workerd/worker-harness.ts (the Worker's fetch) differ only in how a request
 * reaches regate: each gives a `send`. Web APIs only, and no import of harness.ts, since the workerd project
 * aliases harness.ts to worker-harness.ts, which builds on this file.
 */
import type { Logger } from '../../src/core/ports.ts';

export const SCIM = '/api/2.0/preview/scim/v2';
export const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

/**
 * Registry tests register versions from `s3://…` sources, which regate records without copying only when
 * configured to; artifact tests pass `env: {}` to get the default, which refuses them.
 */
export const DEFAULT_TEST_ENV: Record<string, string> = { REGATE_EXTERNAL_SOURCE_PREFIXES: 's3://' };

export interface CallOptions {
  token?: string | null;
  body?: unknown;
  query?: Record<string, string | string[] | undefined>;
  headers?: Record<string, string>;
  /** Send this exact text as the body instead of JSON. */
  rawBody?: string;
}

export interface CallResult {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  text: string;
  headers: Headers;
}

export interface Identity {
  id: string;
  name: string;
  token: string;
}

export type LogLine = { level: string; event: string; fields: Record<string, unknown> };

/** A logger that keeps its lines in `logLines`, for tests that assert what was logged. */
export function recordingLogger(): { logger: Logger; logLines: LogLine[] } {
  const logLines: LogLine[] = [];
  const logger: Logger = {
    info: (event, fields = {}) => logLines.push({ level: 'info', event, fields }),
    warn: (event, fields = {}) => logLines.push({ level: 'warn', event, fields }),
    error: (event, fields = {}) => logLines.push({ level: 'error', event, fields }),
  };
  return { logger, logLines };
}

/**
 * How a harness hands one request to regate. `path` is as the test wrote it, `url` the same on the base
 * `http://regate.test` with the query appended; the harness picks which of them it sends.
 */
export type Send = (path: string, url: URL, init: { method: string; headers: Record<string, string>; body: string | undefined }) => Promise<{ status: number; text: string; headers: Headers }>;

/** The API client every harness offers: requests as the admin by default, and identities made over the API. */
export function apiClient(send: Send, adminToken: string) {
  async function call(method: string, path: string, o: CallOptions = {}): Promise<CallResult> {
    const url = new URL(`http://regate.test${path}`);
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
    const res = await send(path, url, { method, headers, body });
    let json: unknown = undefined;
    try {
      json = res.text ? JSON.parse(res.text) : {};
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text: res.text, headers: res.headers };
  }

  async function expectOk(method: string, path: string, o: CallOptions = {}) {
    const r = await call(method, path, o);
    if (r.status !== 200) throw new Error(`${method} ${path} -> ${r.status} ${r.text}`);
    return r.json;
  }

  /** A user made by the admin through SCIM, with a token made on its behalf. */
  async function user(name: string): Promise<Identity> {
    const u = await expectOk('POST', `${SCIM}/Users`, { body: { userName: name } });
    const t = await expectOk('POST', '/api/2.0/token-management/on-behalf-of/tokens', { body: { user_name: name } });
    return { id: u.id, name, token: t.token_value };
  }

  /** A service principal; its `name` is the application id that `user_id` fields show. */
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

  return { call, expectOk, user, servicePrincipal, group, addToGroup, removeFromGroup };
}
