/**
 * Every route in the route table goes through the same checks. The table is walked at run time, so a new
 * route joins these tests by existing: without credentials, with a bad, expired or revoked token, and through
 * path variants (`//`, dot segments, encoded slashes and dots, backslashes, case changes, trailing slash), no
 * protected route ever answers 200.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../src/http/routes/index.ts';
import { makeHarness, type Harness } from '../helpers/harness.ts';

let h: Harness;
let expired: string;
let revoked: string;
beforeAll(async () => {
  h = await makeHarness();
  const e = await h.expectOk('POST', '/api/2.0/token/create', { body: { lifetime_seconds: 1 } });
  expired = e.token_value;
  h.clock.advance(1000);
  const r = await h.expectOk('POST', '/api/2.0/token/create', { body: {} });
  revoked = r.token_value;
  await h.expectOk('POST', '/api/2.0/token/delete', { body: { token_id: r.token_info.token_id } });
});

const concrete = (path: string) => path.replace(/:(\w+)/g, '0123456789abcdef0123456789abcdef');
const protectedRoutes = () => ROUTES.filter((r) => r.auth !== 'public');

describe('authentication on every protected route', () => {
  it('the route table is not empty and public routes are few and known', () => {
    expect(protectedRoutes().length).toBeGreaterThan(10);
    for (const r of ROUTES.filter((x) => x.auth === 'public')) {
      expect(['/.well-known/databricks-config'].some((p) => r.path === p) || r.path.includes('/regate/artifacts/')).toBe(true);
    }
  });

  it.each([
    ['no token', null, undefined],
    ['expired token', 'EXPIRED', undefined],
    ['revoked token', 'REVOKED', undefined],
    ['unknown token', 'dapi0000000000000000000000000000beef', undefined],
    ['Basic scheme', null, 'Basic YWRtaW46YWRtaW4='],
  ])('%s → 401 on every protected route', async (_n, token, authHeader) => {
    const cached = h.deps.acl!.cache.size;
    for (const r of protectedRoutes()) {
      const t = token === 'EXPIRED' ? expired : token === 'REVOKED' ? revoked : token;
      const res = await h.call(r.method, concrete(r.path), {
        token: t,
        headers: authHeader ? { Authorization: authHeader } : {},
        body: r.method === 'GET' || r.method === 'HEAD' ? undefined : {},
      });
      expect(res.status, `${r.method} ${r.path}`).toBe(401);
      if (r.method !== 'HEAD') expect(res.json.error_code, `${r.method} ${r.path}`).toBe('UNAUTHENTICATED');
    }
    // Callers that are not authenticated never create ACL cache entries (T30).
    expect(h.deps.acl!.cache.size).toBe(cached);
  });
});

describe('path variants never reach a handler unchecked', () => {
  const variants = (path: string): string[] => {
    const segs = path.split('/');
    const last = segs.length - 1;
    return [
      `/${path}`,
      path.replace('/api/', '/api//'),
      path.replace('/api/2.0/', '/api/2.0/./'),
      path.replace('/api/2.0/', '/api/x/../2.0/'),
      path.replace('/api/2.0/', '/api%2F2.0/'),
      path.replace('/api/2.0/', '/api%2f2.0/'),
      path.replace('/api/2.0/', '/api/%2e/2.0/'),
      path.replace('/api/2.0/', '/api/2.0%5C'),
      path.replace('/api/2.0/', '/api/2.0\\'),
      path.replace('/api/2.0/', '/api/%252e%252e/2.0/'),
      path.toUpperCase(),
      path.replace('/api/', '/API/'),
      `${path}/`,
      `${path}%00`,
      segs.map((s, i) => (i === last ? encodeURIComponent(s).replace(/-/g, '%2D') : s)).join('/'),
    ].filter((v) => v !== path);
  };

  it('without credentials: 400 or 401 or 404, never 200', async () => {
    for (const r of protectedRoutes()) {
      for (const v of variants(concrete(r.path))) {
        const res = await h.call(r.method, v, { token: null, body: r.method === 'GET' ? undefined : {} });
        expect([400, 401, 404], `${r.method} ${v}`).toContain(res.status);
        if (res.status !== 401) expect(res.json?.error_code, `${r.method} ${v}`).toMatch(/INVALID_PARAMETER_VALUE|ENDPOINT_NOT_FOUND/);
      }
    }
  });

  it('with credentials, a non-canonical path is refused before routing', async () => {
    // (`new Request()` folds `./`, `../` and backslashes before the app sees them; the Node entry checks the
    // raw target for those: test/node/raw-paths.test.ts.)
    for (const v of ['//api/2.0/preview/scim/v2/Me', '/api/2.0/preview/scim%2Fv2/Me', '/api/2.0/preview/scim/v2/Me%00', '/api/2.0/preview/scim/v2/a%2e%2e/Me']) {
      const res = await h.call('GET', v);
      expect(res.status, v).toBe(400);
      expect(res.json.error_code).toBe('INVALID_PARAMETER_VALUE');
      // An answer about a URL that may carry a credential (a signed download's token) is never cached.
      expect(res.headers.get('Cache-Control'), v).toContain('no-store');
    }
    const signedVariant = await h.call('GET', '/api/2.0/regate/artifacts//download?token=abc');
    expect(signedVariant.status).toBeGreaterThanOrEqual(400);
    expect(signedVariant.headers.get('Cache-Control')).toContain('no-store');
    const upper = await h.call('GET', '/API/2.0/preview/scim/v2/Me');
    expect(upper.status).toBe(404);
    expect(upper.json.error_code).toBe('ENDPOINT_NOT_FOUND');
    const trailing = await h.call('GET', '/api/2.0/preview/scim/v2/Me/');
    expect(trailing.status).toBe(404);
  });
});

describe('bad input never gets a 500', () => {
  const junkBodies = ['{bad json', '[]', '"text"', 'null', JSON.stringify({ name: 5, version: [], stage: {}, path: 7, access_control_list: 'x', tags: 'x', Operations: 'x', token_id: 1, filter: 9 })];
  const junkQueries = [{ name: 'x'.repeat(300), version: '1e3', max_results: '-1', page_token: '!!', filter: "name = 'unterminated", path: '../x', offset: 'x' }];

  it('for every protected route, as an admin', async () => {
    for (const r of protectedRoutes()) {
      const path = concrete(r.path);
      const attempts =
        r.method === 'GET' || r.method === 'HEAD'
          ? junkQueries.map((query) => h.call(r.method, path, { query }))
          : junkBodies.map((rawBody) => h.call(r.method, path, { rawBody, headers: { 'Content-Type': 'application/json' } }));
      for (const res of await Promise.all(attempts)) {
        expect(res.status, `${r.method} ${r.path}: ${res.text}`).toBeLessThan(500);
        if (r.method !== 'HEAD' && !r.path.startsWith('/dbfs/')) expect(res.json?.error_code ?? 'ok', `${r.method} ${r.path}`).toMatch(/^[A-Z_]+$|^ok$/);
      }
    }
  });
});

describe('malformed percent-escapes on every route', () => {
  const bad = ['%ZZ', '%ff', '%c0%ae', '%', '%ed%a0%80'];

  it('in the path or the query: 400 INVALID_PARAMETER_VALUE before routing, with or without credentials', async () => {
    for (const r of ROUTES) {
      const path = concrete(r.path).replace('/*', '/databricks/mlflow/tmp-external-source/a/b');
      for (const b of bad) {
        for (const target of [`${path}${b}`, `${path}?name=${b}`, `${path}?${b}=1`]) {
          for (const token of [undefined, null]) {
            const res = await h.app.request(target, {
              method: r.method,
              headers: token === null ? {} : { Authorization: `Bearer ${h.adminToken}` },
            });
            expect(res.status, `${r.method} ${target}`).toBe(400);
            if (r.method !== 'HEAD') expect((await res.json()).error_code, `${r.method} ${target}`).toBe('INVALID_PARAMETER_VALUE');
          }
        }
      }
    }
  });
});
