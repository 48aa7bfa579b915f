/**
 * Digests and the version manifest on real D1 (miniflare) with the portable defaults a Workers entry uses
 * (Web Crypto signing, web-stream downloads): 0007 applies, registration stores 30 files' digests through
 * D1's 100-bound-value INSERTs, the manifest pages them with working signed URIs, and downloads carry
 * `Repr-Digest` / `x-regate-sha256`.
 */
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { makeD1Harness } from '../helpers/d1-harness.ts';
import { miniflareD1Pool } from '../helpers/miniflare-d1.ts';

const AREA = '/databricks/mlflow/tmp-external-source';
const sha = (b: string) => createHash('sha256').update(b).digest('hex');
const pool = miniflareD1Pool();
afterAll(() => pool.disposeAll());

describe('manifest and digests on D1', () => {
  it('registers, lists with digests, pages the manifest, downloads with digest headers', async () => {
    const h = await makeD1Harness(await pool.make());
    expect(h.applied).toContain('0007_artifact_sha256.sql');
    const files = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`d${i % 4}/f${String(i).padStart(2, '0')}`, `bytes of ${i} `.repeat(i)]));
    await h.expectOk('POST', '/api/2.0/mlflow/registered-models/create', { body: { name: 'd1m' } });
    for (const [rel, body] of Object.entries(files)) await h.expectOk('POST', `/dbfs${AREA}/u/model/${rel}`, { rawBody: body });
    await h.expectOk('POST', '/api/2.0/mlflow/model-versions/create', { body: { name: 'd1m', source: `dbfs:${AREA}/u/model` } });

    const listed = await h.expectOk('GET', '/api/2.0/mlflow/model-versions/list-artifacts', { query: { name: 'd1m', version: '1', path: 'd1' } });
    for (const f of listed.files) expect(f.sha256, f.path).toBe(sha(files[f.path]!));

    const got: Array<{ path: string; sha256: string; signed_uri: string }> = [];
    let page_token: string | undefined;
    let pages = 0;
    do {
      const m = await h.expectOk('GET', '/api/2.0/regate/model-versions/manifest', { query: { name: 'd1m', version: '1', max_results: '7', ...(page_token ? { page_token } : {}) } });
      got.push(...m.files);
      page_token = m.next_page_token;
      pages++;
    } while (page_token);
    expect(pages).toBe(5);
    expect(got.map((f) => f.path)).toEqual(Object.keys(files).sort());
    for (const f of got) expect(f.sha256).toBe(sha(files[f.path]!));

    const one = got.find((f) => f.path === 'd3/f23')!;
    const res = await h.app.request(one.signed_uri, { headers: { Range: 'bytes=0-4' } });
    expect(res.status).toBe(206);
    expect(await res.text()).toBe(files['d3/f23']!.slice(0, 5));
    expect(res.headers.get('x-regate-sha256')).toBe(one.sha256);
    expect(res.headers.get('repr-digest')).toBe(`sha-256=:${Buffer.from(one.sha256, 'hex').toString('base64')}:`);
  }, 60_000);
});
