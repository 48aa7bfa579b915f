/**
 * Digests on the Worker (workerd, D1 + R2 bindings): R2's ETags are MD5, so registration streams each upload
 * through the hasher into managed storage (digest-copy.ts, on workerd's runtime); list-artifacts, the manifest
 * and the download headers then carry the SHA-256 of the bytes, computed here with Web Crypto.
 */
import { describe, expect, it } from 'vitest';
import { makeHarness } from './worker-harness.ts';

const AREA = '/databricks/mlflow/tmp-external-source';

async function sha(text: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

describe('SHA-256 on the Worker (R2)', () => {
  it('is recorded while copying into R2 and served by list-artifacts, the manifest and downloads', async () => {
    const h = await makeHarness({ env: {} });
    const files: Record<string, string> = { MLmodel: 'flavors: {}\n', 'data/w.bin': 'x'.repeat(200_000) + 'tail' };
    await h.expectOk('POST', '/api/2.0/mlflow/registered-models/create', { body: { name: 'wd' } });
    for (const [rel, body] of Object.entries(files)) await h.expectOk('POST', `/dbfs${AREA}/u/model/${rel}`, { rawBody: body });
    await h.expectOk('POST', '/api/2.0/mlflow/model-versions/create', { body: { name: 'wd', source: `dbfs:${AREA}/u/model` } });

    const listed = await h.expectOk('GET', '/api/2.0/mlflow/model-versions/list-artifacts', { query: { name: 'wd', version: '1', path: 'data' } });
    expect(listed.files).toEqual([{ path: 'data/w.bin', is_dir: false, file_size: files['data/w.bin']!.length, sha256: await sha(files['data/w.bin']!) }]);

    const m = await h.expectOk('GET', '/api/2.0/regate/model-versions/manifest', { query: { name: 'wd', version: '1' } });
    expect(m.files.map((f: { path: string; sha256: string }) => [f.path, f.sha256])).toEqual([
      ['MLmodel', await sha(files.MLmodel!)],
      ['data/w.bin', await sha(files['data/w.bin']!)],
    ]);
    const w = m.files[1];
    const res = await h.app.request(w.signed_uri.slice(w.signed_uri.indexOf('/api/')), { headers: { Range: 'bytes=-4' } });
    expect(res.status).toBe(206);
    expect(await res.text()).toBe('tail');
    expect(res.headers.get('x-regate-sha256')).toBe(w.sha256);
    expect(res.headers.get('repr-digest')).toBe(`sha-256=:${btoa(String.fromCharCode(...w.sha256.match(/../g).map((x: string) => parseInt(x, 16))))}:`);
  });
});
