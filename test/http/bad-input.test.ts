/**
 * Bad input is the caller's fault and answers 4xx, never 5xx: malformed percent-encoding in every place a
 * request carries text (raw DBFS paths, DBFS API and artifact `path` parameters, query strings, signed
 * download URIs, model-version sources), and a sweep of every route in the route table with values of the
 * wrong type or shape (arrays, objects, huge and fractional numbers, NaN, NUL bytes, overlong strings).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { ROUTES } from '../../src/http/routes/index.ts';
import { makeHarness, type CallResult, type Harness } from '../helpers/harness.ts';

const AREA = '/databricks/mlflow/tmp-external-source';
const MV = '/api/2.0/mlflow/model-versions';
const RM = '/api/2.0/mlflow/registered-models';

let h: Harness;
beforeEach(async () => {
  h = await makeHarness({ env: {} });
  await h.expectOk('POST', `${RM}/create`, { body: { name: 'm' } });
  await h.expectOk('POST', `/dbfs${AREA}/up/model/MLmodel`, { rawBody: 'flavors: {}\n' });
  await h.expectOk('POST', `${MV}/create`, { body: { name: 'm', source: `dbfs:${AREA}/up/model` } });
});

/** A request with an exact target (no re-encoding by the harness). */
async function raw(method: string, target: string, body?: unknown): Promise<CallResult> {
  const res = await h.app.request(target, {
    method,
    headers: { Authorization: `Bearer ${h.adminToken}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

const BAD_ESCAPES = ['%c0%ae%c0%ae', '%ff', '%ZZ', '%', '%e2%82', '%ed%a0%80', '%f8%88%80%80%80'];

function expectInvalid(r: CallResult, what: string): void {
  expect(r.status, `${what}: ${r.text}`).toBe(400);
  expect(r.json?.error_code, what).toBe('INVALID_PARAMETER_VALUE');
}

describe('malformed percent-encoding answers 400 INVALID_PARAMETER_VALUE', () => {
  it.each(BAD_ESCAPES)('raw /dbfs/ paths with %s, read and upload', async (bad) => {
    for (const path of [`/dbfs/${bad}/x`, `/dbfs${AREA}/a/${bad}`, `/dbfs${AREA}/a/${bad}/MLmodel`, `/dbfs${AREA}//a/m${bad}x`]) {
      expectInvalid(await raw('GET', path), `GET ${path}`);
      expectInvalid(await raw('POST', path), `POST ${path}`);
    }
    // Nothing was written by any of them: the store holds the one upload and its managed copy.
    expect((await h.deps.objectStore.list('')).objects.length).toBe(2);
  });

  it.each(BAD_ESCAPES)('query strings with %s, on every GET route family', async (bad) => {
    for (const target of [
      `/api/2.0/dbfs/get-status?path=${AREA}/a/${bad}`,
      `/api/2.0/dbfs/list?path=${bad}`,
      `/api/2.0/dbfs/read?path=${AREA}/up/model/${bad}`,
      `${MV}/list-artifacts?name=m&version=1&path=${bad}`,
      `${MV}/get-signed-download-uri?name=m&version=1&path=${bad}/MLmodel`,
      `${MV}/get?name=m${bad}&version=1`,
      `${RM}/get?name=${bad}`,
      `${RM}/search?filter=name%3D%27${bad}%27`,
      `${RM}/get?${bad}=m`,
      `/api/2.0/regate/audit?action=${bad}`,
    ]) {
      expectInvalid(await raw('GET', target), target);
    }
    // DELETE takes query parameters too (the SDK sends them there).
    expectInvalid(await raw('DELETE', `${RM}/delete?name=m${bad}`), 'DELETE query');
    expect((await h.call('GET', `${RM}/get`, { query: { name: 'm' } })).status).toBe(200);
  });

  it.each(['models:/%ZZ/1', 'models:/%ff/1', 'models:/%c0%ae/1', 'models:/m%/1', `dbfs:${AREA}/up/model%ff`, `dbfs:${AREA}/up/%ZZ`, 'dbfs:/%c0%ae%c0%ae/x'])(
    'model-version source %s',
    async (source) => {
      expectInvalid(await h.call('POST', `${MV}/create`, { body: { name: 'm', source } }), source);
    },
  );

  it('models:/ sources still decode well-formed escapes', async () => {
    await h.expectOk('POST', `${RM}/create`, { body: { name: 'a b/c' } });
    await h.expectOk('POST', `${MV}/create`, { body: { name: 'a b/c', source: `dbfs:${AREA}/up/model` } });
    const copy = await h.call('POST', `${MV}/create`, { body: { name: 'm', source: 'models:/a%20b%2Fc/1' } });
    expect(copy.status, copy.text).toBe(200);
  });

  it.each(BAD_ESCAPES)('signed download URIs with %s answer 4xx', async (bad) => {
    const s = await h.expectOk('GET', `${MV}/get-signed-download-uri`, { query: { name: 'm', version: '1', path: 'MLmodel' } });
    const uri = new URL(s.signed_uri);
    const target = `${uri.pathname}${uri.search}`;
    expect((await h.app.request(target)).status).toBe(200);
    for (const mangled of [
      target.replace('p=MLmodel', `p=ML${bad}model`),
      target.replace('mid=', `mid=${bad}`),
      target.replace('ver=1', `ver=1${bad}`),
      `${target}${bad}`,
      target.replace('/download?', `/download${bad}?`),
    ]) {
      const r = await h.app.request(mangled);
      expect(r.status, mangled).toBeGreaterThanOrEqual(400);
      expect(r.status, mangled).toBeLessThan(500);
    }
  });
});

/** Values of the wrong type or shape, for any parameter. */
const EVIL: unknown[] = [
  [],
  ['a', 'b'],
  {},
  { $gt: '' },
  true,
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
  '99999999999999999999999',
  '1e3',
  'NaN',
  'Infinity',
  '-0',
  '',
  ' ',
  'a\u0000b',
  '\u0000',
  '\ud800',
  '../../x',
  'x'.repeat(70_000),
];

const KEYS = [
  'name', 'new_name', 'version', 'source', 'path', 'key', 'value', 'description', 'stage', 'page_token', 'max_results',
  'filter', 'order_by', 'tags', 'run_id', 'run_link', 'comment', 'id', 'offset', 'length', 'lifetime_seconds',
  'token_id', 'user_name', 'application_id', 'access_control_list', 'archive_existing_versions', 'userName',
  'displayName', 'members', 'Operations', 'schemas', 'action', 'principal_id', 'model_id', 'alias', 'stages',
  'to_stage', 'activity_type', 'comment_id',
];

const concrete = (path: string) => path.replace(/:(\w+)/g, '1');

describe('no route answers 5xx to values of the wrong type or shape', () => {
  it('every route, every parameter, every evil value, in a JSON body and in the query', async () => {
    const failures: string[] = [];
    for (const r of ROUTES) {
      const path = concrete(r.path);
      for (const evil of EVIL) {
        for (const key of KEYS) {
          // The other parameters valid, so the evil one is reached.
          const base: Record<string, unknown> = { name: 'm', version: '1', key: 'k', value: 'v', path: 'MLmodel', stage: 'Staging' };
          const body = { ...base, [key]: evil };
          const res =
            r.method === 'GET' || r.method === 'HEAD'
              ? await h.call(r.method, path, { query: toQuery(body) })
              : await h.call(r.method, path, { body });
          if (res.status >= 500) failures.push(`${r.method} ${r.path} ${key}=${JSON.stringify(evil).slice(0, 40)} → ${res.status} ${res.text.slice(0, 120)}`);
        }
      }
      // A body that is JSON but not an object, or not JSON.
      if (r.method !== 'GET' && r.method !== 'HEAD') {
        for (const rawBody of ['[]', 'null', '1', '"s"', '{', '\u0000', '{"name":"m","name":"n"}', '{"__proto__":{"x":1}}']) {
          const res = await h.call(r.method, path, { rawBody, headers: { 'Content-Type': 'application/json' } });
          if (res.status >= 500) failures.push(`${r.method} ${r.path} body ${rawBody} → ${res.status} ${res.text.slice(0, 120)}`);
        }
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it('evil values inside list parameters (tags, access control lists, SCIM members and operations)', async () => {
    const failures: string[] = [];
    const nested = (evil: unknown): Record<string, unknown> => ({
      tags: [{ key: evil, value: evil }, evil],
      access_control_list: [{ user_name: evil, group_name: evil, service_principal_name: evil, permission_level: evil }, evil],
      members: [{ value: evil }, evil],
      Operations: [{ op: evil, path: evil, value: evil }, { op: 'add', path: 'members', value: evil }, { op: 'remove', path: evil }, evil],
      schemas: [evil],
      emails: [{ value: evil }],
      entitlements: [{ value: evil }],
      groups: [{ value: evil }],
      roles: [{ value: evil }],
    });
    for (const r of ROUTES.filter((x) => x.method !== 'GET' && x.method !== 'HEAD')) {
      for (const evil of EVIL) {
        const body = { name: 'm', version: '1', key: 'k', value: 'v', source: `dbfs:${AREA}/up/model`, userName: 'u@x', displayName: 'g', ...nested(evil) };
        const res = await h.call(r.method, concrete(r.path), { body });
        if (res.status >= 500) failures.push(`${r.method} ${r.path} nested ${JSON.stringify(evil).slice(0, 40)} → ${res.status} ${res.text.slice(0, 120)}`);
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it('search filters, orderings and page tokens that do not parse', async () => {
    const failures: string[] = [];
    const filters = [
      "name LIKE '%'", "name ILIKE '%\\'", "version_number = 99999999999999999999", 'version_number = 1e400', "name = 'a' AND",
      'tags.`x` = \'y\'', 'run_id IN ()', "run_id IN ('a',", 'creation_timestamp > 1e400', "name = 'a\u0000'", '((((((((((', "name = '", '`',
      "name = 'a' AND ".repeat(500) + "name = 'b'", "tags.\"k\" = 'v'", "name != 'a' OR name = 'b'", "source_path = '%'",
      'userName eq "a"', 'userName eq "', 'id eq 99999999999999999999', 'displayName co ""',
    ];
    const orders = ['name DESC DESC', 'nonexistent', "'; DROP TABLE x", 'name ASC, '.repeat(100), 'timestamp\u0000', 'last_updated_timestamp', 'version_number DESC'];
    const tokens = ['!!!', 'eyJ', 'e30', btoa('{"offset":-1}'), btoa('{"offset":1e400}'), btoa('{"after":[]}'), btoa('null'), 'x'.repeat(199)];
    for (const r of ROUTES.filter((x) => x.method === 'GET')) {
      const path = concrete(r.path);
      for (const filter of filters) {
        const res = await h.call('GET', path, { query: { filter, name: 'm', version: '1' } });
        if (res.status >= 500) failures.push(`${r.path} filter=${filter.slice(0, 40)} → ${res.status} ${res.text.slice(0, 120)}`);
      }
      for (const order_by of orders) {
        const res = await h.call('GET', path, { query: { order_by, name: 'm', version: '1' } });
        if (res.status >= 500) failures.push(`${r.path} order_by=${order_by.slice(0, 40)} → ${res.status} ${res.text.slice(0, 120)}`);
      }
      for (const page_token of tokens) {
        for (const extra of [{}, { startIndex: page_token, count: page_token }]) {
          const res = await h.call('GET', path, { query: { page_token, name: 'm', version: '1', ...extra } });
          if (res.status >= 500) failures.push(`${r.path} page_token=${page_token.slice(0, 40)} → ${res.status} ${res.text.slice(0, 120)}`);
        }
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it('deeply nested JSON (which would overflow the stack of any recursive walk) is a 400', async () => {
    const failures: string[] = [];
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    const bodies = [
      `{"name":${deep(300_000)},"version":"1"}`,
      `{"name":"m","version":${deep(100_000)}}`,
      `{"name":"m","tags":[{"key":"k","value":${deep(100_000)}}]}`,
      `{"name":"m","access_control_list":[${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}]}`,
    ];
    for (const r of ROUTES.filter((x) => x.method !== 'GET' && x.method !== 'HEAD' && !x.path.startsWith('/dbfs/'))) {
      for (const rawBody of bodies) {
        const res = await h.call(r.method, concrete(r.path), { rawBody, headers: { 'Content-Type': 'application/json' } });
        if (res.status >= 500) failures.push(`${r.method} ${r.path} ${rawBody.slice(0, 30)} → ${res.status} ${res.text.slice(0, 120)}`);
      }
    }
    expect(failures).toEqual([]);
    const r = await h.call('POST', `${RM}/create`, { rawBody: `{"name":${deep(1000)}}`, headers: { 'Content-Type': 'application/json' } });
    expect(r.status).toBe(400);
    expect(r.json.error_code).toBe('MALFORMED_REQUEST');
    // Nesting a real request needs is fine.
    const ok = await h.call('PATCH', `/api/2.0/preview/scim/v2/Users/1`, {
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'entitlements', value: [{ value: 'x' }] }] },
    });
    expect(ok.json?.error_code).not.toBe('MALFORMED_REQUEST');
  }, 120_000);

  it('odd credentials and content types never reach a 5xx', async () => {
    const failures: string[] = [];
    const auths = ['Bearer', 'Bearer ', `Bearer ${'x'.repeat(100_000)}`, 'Bearer a b', 'bearer dapi', 'Bearer dapi\u00e9', 'Basic !!!', 'Basic ' + btoa('a'), 'Basic ' + btoa(':'), 'Negotiate x'];
    for (const r of ROUTES) {
      for (const Authorization of auths) {
        let res: CallResult;
        try {
          res = await h.call(r.method, concrete(r.path), { token: null, headers: { Authorization } });
        } catch {
          continue; // a header value fetch itself refuses to send
        }
        if (res.status >= 500) failures.push(`${r.method} ${r.path} Authorization=${Authorization.slice(0, 30)} → ${res.status}`);
      }
      if (r.method !== 'GET' && r.method !== 'HEAD') {
        for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1']) {
          const res = await h.call(r.method, concrete(r.path), { rawBody: 'name=m&version=1', headers: { 'Content-Type': ct } });
          if (res.status >= 500) failures.push(`${r.method} ${r.path} Content-Type=${ct} → ${res.status} ${res.text.slice(0, 120)}`);
        }
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);
});

function toQuery(o: Record<string, unknown>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(o)) out[k] = Array.isArray(v) ? v.map((x) => String(x)) : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
  return out;
}
