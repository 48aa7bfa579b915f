/**
 * Every route in the route table goes through the same checks. The table is walked at run time, so a new
 * route joins these tests by existing: without credentials, with a bad, expired or revoked token, and through
 * path variants (`//`, dot segments, encoded slashes and dots, backslashes, case changes, trailing slash), no
 * protected route ever answers 200.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../src/http/routes/index.ts';
import { makeHarness, type Harness } from '../helpers/harness.ts';
import { routes as PAGE_ROUTES, SIGN_IN_PATH } from '../../src/http/pages/routes.ts';
import { pathVariants } from '../helpers/path-variants.ts';

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
      // Pages are `public` only to app.ts's bearer check: their credential is the session cookie (suite below).
      const isPage = PAGE_ROUTES.includes(r);
      expect(['/.well-known/databricks-config'].some((p) => r.path === p) || r.path.includes('/regate/artifacts/') || isPage, r.path).toBe(true);
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
  const variants = pathVariants;

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

describe('pages: no page without a session, no form post without its form token', () => {
  const pages = () => ROUTES.filter((r) => r.path === '/ui' || r.path.startsWith('/ui/'));
  const form = (o: Record<string, string>) => ({
    method: 'POST',
    body: new URLSearchParams(o).toString(),
  });

  it('every /ui route is a page route, and there are pages', () => {
    expect(pages().length).toBeGreaterThan(5);
    for (const r of pages()) expect(PAGE_ROUTES).toContain(r);
  });

  it.each([
    ['no cookie', null],
    ['expired token', 'EXPIRED'],
    ['revoked token', 'REVOKED'],
    ['unknown token', 'dapi0000000000000000000000000000beef'],
    ['junk', '%%%'],
  ])('%s: every GET page redirects to sign-in, every POST is 401, nothing else answers', async (_n, token) => {
    const t = token === 'EXPIRED' ? expired : token === 'REVOKED' ? revoked : token;
    const cookie: Record<string, string> = t === null ? {} : { Cookie: `regate_session=${t}` };
    for (const r of pages()) {
      if (r.path === SIGN_IN_PATH) continue;
      const headers = { ...cookie, 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'http://regate.test', Authorization: `Bearer ${h.adminToken}` };
      const res = await h.app.request(`http://regate.test${r.path}?name=m&model=m&registry=1`, { method: r.method, headers, ...(r.method === 'POST' ? form({ csrf: 'x', name: 'm', intent: 'save' }) : {}) });
      const body = await res.text();
      if (r.method === 'GET') {
        expect(res.status, `${r.method} ${r.path}`).toBe(303);
        // (a bearer header is not a page credential: the admin's token above does not open any page)
        expect(res.headers.get('Location'), r.path).toMatch(/^\/ui\/(sign-in\?next=|models$)/);
      } else {
        expect(res.status, `${r.method} ${r.path}`).toBe(401);
        expect(body).toContain('nothing was changed');
      }
    }
  });

  it('with a valid session, every form post without the form token is 403 and changes nothing', async () => {
    const signIn = await h.app.request('http://regate.test/ui/sign-in', {
      ...form({ token: h.adminToken }), headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'http://regate.test' },
    });
    expect(signIn.status).toBe(303);
    const cookie = signIn.headers.get('Set-Cookie')!.split(';')[0]!;
    const grants = () => h.db.prepare('SELECT COUNT(*) AS n FROM grants').first<{ n: number }>();
    const before = await grants();
    for (const r of pages().filter((x) => x.method === 'POST' && x.path !== SIGN_IN_PATH)) {
      for (const csrf of [undefined, '', 'x'.repeat(43)]) {
        const res = await h.app.request(`http://regate.test${r.path}?registry=1`, {
          ...form({ ...(csrf === undefined ? {} : { csrf }), intent: 'save', entry: '["user","admin","CAN_READ"]' }),
          headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'http://regate.test' },
        });
        expect(res.status, `${r.path} csrf=${csrf}`).toBe(403);
      }
    }
    expect(await grants()).toEqual(before);
  });

  it('path variants of pages never render a page', async () => {
    for (const r of pages()) {
      const p = r.path;
      // (`new Request()` folds `./` and `../` before the app sees them: test/node/raw-paths.test.ts checks raw targets.)
      for (const v of [`/${p}`, p.replace('/ui', '/UI'), `${p}%2F`, p.replace('/ui', '/ui%2f'), `${p}%00`, p.replace('/ui', '/ui%5C')]) {
        if (v === p) continue;
        const res = await h.app.request(`http://regate.test${v}`, { method: r.method });
        expect([303, 400, 401, 404], `${r.method} ${v}`).toContain(res.status);
        if (res.status === 303) expect(res.headers.get('Location'), v).toMatch(/^\/ui\//);
      }
    }
  });
});
