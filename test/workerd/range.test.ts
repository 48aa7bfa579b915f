/**
 * The §1.4 range and conditional case table (test/helpers/range-cases.ts, the one download.test.ts runs on
 * Node) against the Worker: a 1000-byte file uploaded through DBFS into R2, registered, signed, and downloaded
 * through the Worker's fetch with each row's headers. Status, Content-Range, exact Content-Length (never
 * chunked) and the bytes must be the row's.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { RANGE_CASES } from '../helpers/range-cases.ts';
import { equalBytes, pattern } from '../helpers/streams.ts';
import { makeHarness, type Harness } from './worker-harness.ts';

const N = 1000;
const OBJ = pattern(N, 11);
let h: Harness;
let url: string;
let etag: string;
let lastModified: number;

beforeAll(async () => {
  h = await makeHarness({ env: {} });
  const area = '/databricks/mlflow/tmp-external-source/range';
  await h.expectOk('POST', '/api/2.0/mlflow/registered-models/create', { body: { name: 'range' } });
  const up = await h.app.request(`/dbfs${area}/model/MLmodel`, { method: 'POST', headers: { Authorization: `Bearer ${h.adminToken}` }, body: OBJ as Uint8Array<ArrayBuffer> });
  expect(up.status).toBe(200);
  await h.expectOk('POST', '/api/2.0/mlflow/model-versions/create', { body: { name: 'range', source: `dbfs:${area}/model` } });
  url = (await h.expectOk('GET', '/api/2.0/mlflow/model-versions/get-signed-download-uri', { query: { name: 'range', version: '1', path: 'MLmodel' } })).signed_uri;
  const head = await h.app.request(url, { method: 'HEAD' });
  expect(head.status).toBe(200);
  etag = head.headers.get('etag')!;
  lastModified = Date.parse(head.headers.get('last-modified')!);
});

describe('§1.4 case table against the Worker (R2)', () => {
  it.each(RANGE_CASES)('row %s', async (_row, hdrs, status, cr, slice) => {
    const res = await h.app.request(url, { headers: hdrs(lastModified, etag) });
    const body = new Uint8Array(await res.arrayBuffer());
    expect(res.status).toBe(status);
    expect(res.headers.get('content-range')).toBe(cr);
    expect(res.headers.get('cache-control')).toBe('private, no-store, no-transform');
    expect(res.headers.get('content-encoding')).toBeNull();
    if (slice) {
      const bytes = OBJ.slice(...slice);
      expect(equalBytes(body, bytes)).toBe(true);
      expect(res.headers.get('content-length')).toBe(String(bytes.length));
      expect(res.headers.get('transfer-encoding')).toBeNull();
      expect(res.headers.get('etag')).toBe(etag);
    }
    if (status === 304) expect(body.length).toBe(0);
    if (status === 416) expect(res.headers.get('content-range')).toBe(`bytes */${N}`);
  });
});
