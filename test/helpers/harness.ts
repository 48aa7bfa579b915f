/**
 * @module harness
 * An in-process regate on the real SQLite adapter (in memory) with a manual clock, driven through
 * `app.request()`. Identities are made through the SCIM and token HTTP APIs, as a user would.
 */
import { createApp } from '../../src/http/app.ts';
import { createNodeDeps } from '../../src/runtime/node-deps.ts';
import { manualClock } from '../../src/core/clock.ts';
import type { Logger } from '../../src/core/ports.ts';

export const SCIM = '/api/2.0/preview/scim/v2';

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

export const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

/**
 * Registry tests register versions from `s3://…` sources, which regate records without copying only when
 * configured to; artifact tests pass `env: {}` to get the default, which refuses them.
 */
export const DEFAULT_TEST_ENV: Record<string, string> = { REGATE_EXTERNAL_SOURCE_PREFIXES: 's3://' };

export async function makeHarness(opts: { env?: Record<string, string> } = {}) {
  const clock = manualClock(T0);
  const logLines: Array<{ level: string; event: string; fields: Record<string, unknown> }> = [];
  const logger: Logger = {
    info: (event, fields = {}) => logLines.push({ level: 'info', event, fields }),
    warn: (event, fields = {}) => logLines.push({ level: 'warn', event, fields }),
    error: (event, fields = {}) => logLines.push({ level: 'error', event, fields }),
  };
  const { deps, boot, db } = await createNodeDeps({ dataDir: ':memory:', env: opts.env ?? DEFAULT_TEST_ENV, clock, logger });
  const app = createApp(deps);
  const adminToken = boot.firstAdmin!.token;

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
    const res = await app.request(url.toString().replace('http://regate.test', ''), { method, headers, body });
    const text = await res.text();
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

  /** A user made by the admin through SCIM, with a token made on its behalf. */
  async function user(name: string): Promise<Identity> {
    const u = await expectOk('POST', `${SCIM}/Users`, { body: { userName: name } });
    const t = await expectOk('POST', '/api/2.0/token-management/on-behalf-of/tokens', { body: { user_name: name } });
    return { id: u.id, name, token: t.token_value };
  }

  /** A service principal; its `name` is the application id that `user_id` fields show. */
  async function servicePrincipal(displayName: string): Promise<Identity> {
    const sp = await expectOk('POST', `${SCIM}/ServicePrincipals`, { body: { displayName } });
    const t = await expectOk('POST', '/api/2.0/token-management/on-behalf-of/tokens', {
      body: { application_id: sp.applicationId },
    });
    return { id: sp.id, name: sp.applicationId, token: t.token_value };
  }

  async function group(displayName: string, memberIds: string[] = []): Promise<{ id: string; name: string }> {
    const g = await expectOk('POST', `${SCIM}/Groups`, {
      body: { displayName, members: memberIds.map((value) => ({ value })) },
    });
    return { id: g.id, name: displayName };
  }

  async function addToGroup(groupId: string, memberId: string): Promise<void> {
    await expectOk('PATCH', `${SCIM}/Groups/${groupId}`, {
      body: {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'add', path: 'members', value: [{ value: memberId }] }],
      },
    });
  }

  async function removeFromGroup(groupId: string, memberId: string): Promise<void> {
    await expectOk('PATCH', `${SCIM}/Groups/${groupId}`, {
      body: {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'remove', path: `members[value eq "${memberId}"]` }],
      },
    });
  }

  return { app, deps, db, clock, logLines, adminToken, call, expectOk, user, servicePrincipal, group, addToGroup, removeFromGroup };
}

export type Harness = Awaited<ReturnType<typeof makeHarness>>;
