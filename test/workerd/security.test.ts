/**
 * The security suite's path checks against the Worker. workerd (like Cloudflare's edge) folds `.`, `..`,
 * `%2e%2e` and `\` in the URL before the app sees it, so Node's raw-target 400s (test/http/security.test.ts,
 * test/node/raw-paths.test.ts) do not carry over as such. What must hold, and is asserted here for the same
 * variants (test/helpers/path-variants.ts):
 * - no variant reaches a handler unchecked: without credentials no protected route's variant answers 2xx;
 *   with credentials a variant is refused (4xx) or answers exactly what the canonical path answers (it was
 *   folded onto it and went through the same checks);
 * - nothing under the managed prefix is ever served by path: every spelling of a registered file's raw DBFS
 *   path (dot segments, encoded dots, backslashes, doubled slashes, detours through the upload area) is refused
 *   and never carries the file's bytes, also for an admin.
 * Authentication on every protected route (no, unknown or Basic credentials → 401) as on Node.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../src/http/routes/index.ts';
import { pathVariants } from '../helpers/path-variants.ts';
import { makeHarness, type Harness } from './worker-harness.ts';

let h: Harness;
let managed: string;
const CONTENT = 'managed bytes that must never be served by path';

const concrete = (path: string) => path.replace(/:(\w+)/g, '0123456789abcdef0123456789abcdef');
const protectedRoutes = () => ROUTES.filter((r) => r.auth !== 'public');

beforeAll(async () => {
  h = await makeHarness({ env: {} });
  const area = '/databricks/mlflow/tmp-external-source/sec';
  await h.expectOk('POST', '/api/2.0/mlflow/registered-models/create', { body: { name: 'sec' } });
  await h.expectOk('POST', `/dbfs${area}/model/MLmodel`, { rawBody: CONTENT });
  await h.expectOk('POST', '/api/2.0/mlflow/model-versions/create', { body: { name: 'sec', source: `dbfs:${area}/model` } });
  const uri = (await h.expectOk('GET', '/api/2.0/mlflow/model-versions/get-download-uri', { query: { name: 'sec', version: '1' } })).artifact_uri as string;
  managed = `${uri.slice('dbfs:'.length)}/MLmodel`;
  expect(managed.startsWith('/databricks/mlflow-registry/')).toBe(true);
});

describe('authentication on every protected route (Worker)', () => {
  it.each([
    ['no token', null, undefined],
    ['unknown token', 'dapi0000000000000000000000000000beef', undefined],
    ['Basic scheme', null, 'Basic YWRtaW46YWRtaW4='],
  ])('%s → 401 on every protected route', async (_n, token, authHeader) => {
    for (const r of protectedRoutes()) {
      const res = await h.call(r.method, concrete(r.path), {
        token,
        headers: authHeader ? { Authorization: authHeader } : {},
        body: r.method === 'GET' || r.method === 'HEAD' ? undefined : {},
      });
      expect(res.status, `${r.method} ${r.path}`).toBe(401);
    }
  });
});

describe('path variants never reach a handler unchecked (Worker)', () => {
  it('without credentials: every variant of every protected route is refused, never 2xx', async () => {
    let checked = 0;
    for (const r of protectedRoutes()) {
      for (const v of pathVariants(concrete(r.path))) {
        const res = await h.call(r.method, v, { token: null, body: r.method === 'GET' ? undefined : {} });
        expect([400, 401, 404, 405], `${r.method} ${v}: ${res.status}`).toContain(res.status);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('with credentials: a variant is refused, or answers exactly what the canonical path answers', async () => {
    const canonical = '/api/2.0/preview/scim/v2/Me';
    const expected = await h.call('GET', canonical);
    expect(expected.status).toBe(200);
    const folded: string[] = [];
    for (const v of pathVariants(canonical)) {
      const res = await h.call('GET', v);
      if (res.status >= 400 && res.status < 500) continue;
      expect(res.status, v).toBe(200);
      expect(res.text, v).toBe(expected.text);
      folded.push(v);
    }
    // workerd folds the dot segments and the backslash onto the canonical path; Node refuses them (400).
    expect(folded).toEqual(expect.arrayContaining(['/api/2.0/./preview/scim/v2/Me', '/api/x/../2.0/preview/scim/v2/Me', '/api/2.0\\preview/scim/v2/Me']));
  });
});

describe('nothing under the managed prefix is served by path (Worker)', () => {
  const spellings = () => {
    const rest = managed.slice('/databricks/mlflow-registry/'.length);
    return [
      `/dbfs${managed}`,
      `/dbfs/databricks/./mlflow-registry/${rest}`,
      `/dbfs/databricks/x/../mlflow-registry/${rest}`,
      `/dbfs/databricks/%2e/mlflow-registry/${rest}`,
      `/dbfs/databricks/x/%2e%2e/mlflow-registry/${rest}`,
      `/dbfs/databricks/mlflow/tmp-external-source/../../mlflow-registry/${rest}`,
      `/dbfs/databricks/mlflow/tmp-external-source/%2e%2e/%2e%2e/mlflow-registry/${rest}`,
      `/dbfs/databricks\\mlflow-registry/${rest}`,
      `/dbfs/databricks%5Cmlflow-registry/${rest}`,
      `/dbfs//databricks/mlflow-registry/${rest}`,
      `/dbfs/databricks//mlflow-registry/${rest}`,
      `/dbfs/databricks/mlflow-registry%2F${rest}`,
      `/dbfs/databricks/MLFLOW-REGISTRY/${rest}`,
      `/dbfs/databricks/mlflow-registry/${rest.replace('/models/', '/models/../models/')}`,
      `/dbfs/databricks/mlflow-registry/${rest.replace('/models/', '/models/%2e/')}`,
      `/dbfs/databricks/mlflow-registry/${rest}/`,
    ];
  };

  it.each(['GET', 'POST', 'HEAD'])('%s: every spelling is refused, and none carries the bytes (admin)', async (method) => {
    for (const s of spellings()) {
      const res = await h.call(method, s, method === 'POST' ? { rawBody: 'overwrite' } : {});
      expect([400, 403, 404, 405], `${method} ${s}: ${res.status}`).toContain(res.status);
      expect(res.text, s).not.toContain(CONTENT);
    }
    // The file is still what was registered: no spelling wrote to it.
    const read = await h.expectOk('GET', '/api/2.0/dbfs/read', { query: { path: managed } });
    expect(atob(read.data)).toBe(CONTENT);
  });
});
