/**
 * JSON request bodies are refused while they stream in (item 3): a body past 1 MiB answers 413
 * MAX_BLOCK_SIZE_EXCEEDED on every route that reads one, having read at most the limit and one chunk; a
 * Content-Length over the limit answers before a byte is read; a Content-Length that lies (smaller than the
 * body) gets no further than an honest one.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from '../helpers/harness.ts';

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
let h: Harness;
beforeEach(async () => {
  h = await makeHarness();
});

/** A JSON-looking body of `total` bytes made on demand; `pulled` counts what the server read. */
function endless(total: number) {
  const stats = { pulled: 0, cancelled: false };
  const chunk = new TextEncoder().encode(' '.repeat(CHUNK));
  const body = new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (stats.pulled === 0) {
        stats.pulled += 1;
        ctl.enqueue(new TextEncoder().encode('{'));
        return;
      }
      if (stats.pulled >= total) return ctl.close();
      stats.pulled += chunk.byteLength;
      ctl.enqueue(chunk);
    },
    cancel() {
      stats.cancelled = true;
    },
  });
  return { body, stats };
}

async function send(method: string, path: string, body: BodyInit, headers: Record<string, string> = {}) {
  const res = await h.app.request(path, {
    method,
    headers: { Authorization: `Bearer ${h.adminToken}`, 'Content-Type': 'application/json', ...headers },
    body,
    duplex: 'half',
  } as RequestInit);
  return { status: res.status, json: (await res.json()) as { error_code: string; message: string } };
}

const ROUTES: Array<[string, string]> = [
  ['POST', '/api/2.0/mlflow/registered-models/create'],
  ['PATCH', '/api/2.0/mlflow/registered-models/update'],
  ['DELETE', '/api/2.0/mlflow/registered-models/delete'],
  ['POST', '/api/2.0/dbfs/put'],
  ['POST', '/api/2.0/dbfs/add-block'],
  ['POST', '/api/2.0/dbfs/create'],
  ['POST', '/api/2.0/token/create'],
];

describe('JSON body limit', () => {
  for (const [method, path] of ROUTES) {
    it(`${method} ${path}: a 64 MiB streamed body is cut off at 1 MiB with 413`, async () => {
      const { body, stats } = endless(64 * MiB);
      const r = await send(method, path, body);
      expect(r.status).toBe(413);
      expect(r.json.error_code).toBe('MAX_BLOCK_SIZE_EXCEEDED');
      expect(stats.pulled).toBeLessThanOrEqual(MiB + 2 * CHUNK + 1);
      expect(stats.cancelled).toBe(true);
    });
  }

  it('answers a Content-Length over the limit before reading the body', async () => {
    const { body, stats } = endless(64 * MiB);
    const r = await send('POST', '/api/2.0/mlflow/registered-models/create', body, { 'Content-Length': String(700 * MiB) });
    expect(r.status).toBe(413);
    expect(r.json.error_code).toBe('MAX_BLOCK_SIZE_EXCEEDED');
    expect(stats.pulled).toBeLessThanOrEqual(1);
  });

  it('a Content-Length that lies (10) does not let a longer body past the limit', async () => {
    const { body, stats } = endless(64 * MiB);
    const r = await send('POST', '/api/2.0/mlflow/registered-models/create', body, { 'Content-Length': '10' });
    expect(r.status).toBe(413);
    expect(stats.pulled).toBeLessThanOrEqual(MiB + 2 * CHUNK + 1);
  });

  it('accepts a body of exactly 1 MiB (the limit is inclusive), and a multi-byte body is decoded whole', async () => {
    const name = 'é'.repeat(10);
    const json = JSON.stringify({ name, description: 'x'.repeat(1000) });
    const padded = json + ' '.repeat(MiB - new TextEncoder().encode(json).byteLength);
    expect(new TextEncoder().encode(padded).byteLength).toBe(MiB);
    const r = await send('POST', '/api/2.0/mlflow/registered-models/create', padded);
    expect(r.status).toBe(200);
    const got = await h.expectOk('GET', '/api/2.0/mlflow/registered-models/get', { query: { name } });
    expect(got.registered_model.name).toBe(name);
  });
});
