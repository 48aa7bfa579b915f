/**
 * The Worker under `wrangler dev --local` (test/helpers/worker-server.ts) over a real socket: it starts on a
 * free port with fresh state, the admin's token works, a file uploaded to local R2 is downloaded through a
 * signed URI with its exact Content-Length (not chunked) and a range; a client that drops the connection
 * mid-download still gets its audit row (written through ctx.waitUntil after the body ends).
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkerServer, type WorkerServer } from '../helpers/worker-server.ts';
import { equalBytes, pattern } from '../helpers/streams.ts';

let w: WorkerServer;
beforeAll(async () => {
  w = await startWorkerServer();
}, 120_000);
afterAll(async () => {
  await w?.stop();
}, 30_000);

describe('regate on wrangler dev --local', () => {
  it('serves the API and a signed, ranged download from local D1 and R2 over a socket', async () => {
    const auth = { Authorization: `Bearer ${w.adminToken}` };
    const json = { ...auth, 'Content-Type': 'application/json' };
    const ok = async (r: Response) => {
      const text = await r.text();
      expect(r.status, text).toBe(200);
      return text ? JSON.parse(text) : {};
    };
    expect((await ok(await fetch(`${w.url}/api/2.0/preview/scim/v2/Me`, { headers: auth }))).userName).toBe('admin');
    const bytes = pattern(2 * 1024 * 1024 + 3, 9);
    const area = '/databricks/mlflow/tmp-external-source/ws';
    await ok(await fetch(`${w.url}/api/2.0/mlflow/registered-models/create`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'ws' }) }));
    await ok(await fetch(`${w.url}/dbfs${area}/model/weights.bin`, { method: 'POST', headers: auth, body: bytes as Uint8Array<ArrayBuffer> }));
    await ok(await fetch(`${w.url}/api/2.0/mlflow/model-versions/create`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'ws', source: `dbfs:${area}/model` }) }));
    const q = new URLSearchParams({ name: 'ws', version: '1', path: 'weights.bin' });
    const { signed_uri } = await ok(await fetch(`${w.url}/api/2.0/mlflow/model-versions/get-signed-download-uri?${q}`, { headers: auth }));
    expect(signed_uri.startsWith(w.url)).toBe(true);
    const full = await fetch(signed_uri);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-length')).toBe(String(bytes.length));
    expect(full.headers.get('transfer-encoding')).toBeNull();
    expect(equalBytes(new Uint8Array(await full.arrayBuffer()), bytes)).toBe(true);
    const part = await fetch(signed_uri, { headers: { Range: 'bytes=1000-1999' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-length')).toBe('1000');
    expect(equalBytes(new Uint8Array(await part.arrayBuffer()), bytes.slice(1000, 2000))).toBe(true);
  }, 60_000);

  it('a client that disconnects mid-download still has its download recorded in the audit trail', async () => {
    const auth = { Authorization: `Bearer ${w.adminToken}` };
    const json = { ...auth, 'Content-Type': 'application/json' };
    const big = pattern(32 * 1024 * 1024, 5);
    const area = '/databricks/mlflow/tmp-external-source/cut';
    const ok = async (r: Response) => {
      const text = await r.text();
      expect(r.status, text).toBe(200);
      return text ? JSON.parse(text) : {};
    };
    await ok(await fetch(`${w.url}/api/2.0/mlflow/registered-models/create`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'cut' }) }));
    await ok(await fetch(`${w.url}/dbfs${area}/model/big.bin`, { method: 'POST', headers: auth, body: big as Uint8Array<ArrayBuffer> }));
    await ok(await fetch(`${w.url}/api/2.0/mlflow/model-versions/create`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'cut', source: `dbfs:${area}/model` }) }));
    const q = new URLSearchParams({ name: 'cut', version: '1', path: 'big.bin' });
    const { signed_uri } = await ok(await fetch(`${w.url}/api/2.0/mlflow/model-versions/get-signed-download-uri?${q}`, { headers: auth }));
    // Read the first bytes, then drop the socket.
    const got = await new Promise<number>((resolve, reject) => {
      const req = request(signed_uri, (res) => {
        let n = 0;
        res.once('data', (chunk: Buffer) => {
          n += chunk.length;
          req.destroy();
          resolve(n);
        });
      });
      req.on('error', () => {});
      req.once('error', reject);
      req.end();
    });
    expect(got).toBeGreaterThan(0);
    // The row is written once the Worker sees the disconnect (polling the API: the Worker's time, not ours).
    let detail = '';
    for (let i = 0; i < 100 && !detail; i++) {
      const events = (await ok(await fetch(`${w.url}/api/2.0/regate/audit?action=download&max_results=10`, { headers: auth }))).events ?? [];
      detail = events.find((e: { path?: string; detail?: string }) => e.path === 'big.bin' && e.detail?.includes('aborted'))?.detail ?? '';
      if (!detail) await new Promise((r) => setTimeout(r, 100));
    }
    expect(detail).toContain('aborted: client_abort');
  }, 60_000);
});
