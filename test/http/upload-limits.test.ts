/**
 * Upload-area limits (item 4): a raw upload over REGATE_MAX_UPLOAD_FILE_BYTES answers 413
 * MAX_BLOCK_SIZE_EXCEEDED, cut off while it streams (at most the limit and a chunk read) and leaving nothing
 * behind; a principal's upload-area bytes are held to REGATE_UPLOAD_QUOTA_BYTES (507 QUOTA_EXCEEDED), counting
 * a replaced file only by the difference; a principal frees its space with DBFS delete; a full disk under an
 * upload answers 507 RESOURCE_EXHAUSTED.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { makeHarness, type Harness, type Identity } from '../helpers/harness.ts';
import { StorageError } from '../../src/core/storage/object-store.ts';

const AREA = '/databricks/mlflow/tmp-external-source';
const CHUNK = 100;
let h: Harness;
let ana: Identity;
let bo: Identity;
beforeEach(async () => {
  h = await makeHarness({ env: { REGATE_MAX_UPLOAD_FILE_BYTES: '1000', REGATE_UPLOAD_QUOTA_BYTES: '2500' } });
  ana = await h.user('ana@x');
  bo = await h.user('bo@x');
});

/** A body of `total` bytes in CHUNK-byte pieces, made on demand; `pulled` counts what the server read. */
function body(total: number) {
  const stats = { pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (stats.pulled >= total) return ctl.close();
      const n = Math.min(CHUNK, total - stats.pulled);
      stats.pulled += n;
      ctl.enqueue(new Uint8Array(n).fill(120));
    },
  });
  return { stream, stats };
}

async function upload(who: Identity, path: string, size: number, headers: Record<string, string> = {}) {
  const { stream, stats } = body(size);
  const res = await h.app.request(`/dbfs${AREA}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${who.token}`, ...headers },
    body: stream,
    duplex: 'half',
  } as RequestInit);
  return { status: res.status, json: (await res.json()) as { error_code?: string; message?: string }, pulled: stats.pulled };
}

const stored = async () => (await h.deps.objectStore.list('uploads/')).objects.map((o) => o.key);
const status = (who: Identity, path: string) => h.call('GET', '/api/2.0/dbfs/get-status', { token: who.token, query: { path: `${AREA}${path}` } });

describe('upload file size limit', () => {
  it('accepts a file of exactly the limit', async () => {
    expect((await upload(ana, '/r/a', 1000)).status).toBe(200);
    expect((await status(ana, '/r/a')).json.file_size).toBe(1000);
  });

  it('cuts a streamed file off once it passes the limit: 413, nothing stored, the old file kept', async () => {
    expect((await upload(ana, '/r/a', 10)).status).toBe(200);
    const r = await upload(ana, '/r/a', 1_000_000);
    expect(r.status).toBe(413);
    expect(r.json.error_code).toBe('MAX_BLOCK_SIZE_EXCEEDED');
    expect(r.pulled).toBeLessThanOrEqual(1000 + 2 * CHUNK);
    expect((await status(ana, '/r/a')).json.file_size).toBe(10);
    expect(await stored()).toHaveLength(1);
    expect((await upload(ana, '/r/b', 1001)).status).toBe(413);
    expect((await status(ana, '/r/b')).status).toBe(404);
    expect(await stored()).toHaveLength(1);
  });

  it('refuses a Content-Length over the limit before reading the body', async () => {
    const r = await upload(ana, '/r/a', 5000, { 'Content-Length': '5000' });
    expect(r.status).toBe(413);
    expect(r.json.error_code).toBe('MAX_BLOCK_SIZE_EXCEEDED');
    expect(r.pulled).toBeLessThanOrEqual(CHUNK);
    expect(await stored()).toEqual([]);
  });
});

describe('upload quota', () => {
  it("holds a principal's upload-area bytes to the quota, per principal, counting a replacement by its difference", async () => {
    expect((await upload(ana, '/q/a', 1000)).status).toBe(200);
    expect((await upload(ana, '/q/b', 1000)).status).toBe(200);
    // 2000 held, 500 left.
    const over = await upload(ana, '/q/c', 600);
    expect(over.status).toBe(507);
    expect(over.json.error_code).toBe('QUOTA_EXCEEDED');
    expect(over.pulled).toBeLessThanOrEqual(500 + 2 * CHUNK);
    expect((await status(ana, '/q/c')).status).toBe(404);
    // Replacing a 1000-byte file with 1000 bytes needs no new room.
    expect((await upload(ana, '/q/a', 1000)).status).toBe(200);
    expect((await upload(ana, '/q/c', 500)).status).toBe(200);
    // Bo has his own quota.
    expect((await upload(bo, '/q/a', 1000)).status).toBe(200);
    expect(await stored()).toHaveLength(4);
  });

  it('refuses a declared length over the room left before reading', async () => {
    expect((await upload(ana, '/q/a', 1000)).status).toBe(200);
    expect((await upload(ana, '/q/b', 1000)).status).toBe(200);
    const r = await upload(ana, '/q/c', 800, { 'Content-Length': '800' });
    expect(r.status).toBe(507);
    expect(r.json.error_code).toBe('QUOTA_EXCEEDED');
    expect(r.pulled).toBeLessThanOrEqual(CHUNK);
  });

  it('DBFS delete frees a principal’s own uploads (a file, or a directory recursively), and only its own', async () => {
    for (const p of ['/d/x/a', '/d/x/b']) expect((await upload(ana, p, 1000)).status).toBe(200);
    expect((await upload(bo, '/d/x/a', 10)).status).toBe(200);
    expect((await upload(ana, '/d/y', 600)).status).toBe(507);
    expect((await h.call('POST', '/api/2.0/dbfs/delete', { token: ana.token, body: { path: `dbfs:${AREA}/d/x/a` } })).status).toBe(200);
    expect((await upload(ana, '/d/y', 600)).status).toBe(200);
    const notRecursive = await h.call('POST', '/api/2.0/dbfs/delete', { token: ana.token, body: { path: `${AREA}/d` } });
    expect(notRecursive.status).toBe(400);
    expect((await h.call('POST', '/api/2.0/dbfs/delete', { token: ana.token, body: { path: `${AREA}/d`, recursive: true } })).status).toBe(200);
    expect((await status(ana, '/d/x/b')).status).toBe(404);
    expect((await status(bo, '/d/x/a')).status).toBe(200);
    expect(await stored()).toHaveLength(1);
    // Deleting what is not there succeeds, as DBFS's delete does.
    expect((await h.call('POST', '/api/2.0/dbfs/delete', { token: ana.token, body: { path: `${AREA}/d` } })).status).toBe(200);
    // The managed prefix stays refused.
    const managed = await h.call('POST', '/api/2.0/dbfs/delete', { token: ana.token, body: { path: '/databricks/mlflow-registry/x' } });
    expect(managed.status).toBe(403);
  });
});

describe('a full store under an upload', () => {
  it('answers 507 RESOURCE_EXHAUSTED and records nothing', async () => {
    const store = h.deps.objectStore;
    const put = store.put.bind(store);
    store.put = async (key, b, opts) => {
      await b.cancel();
      throw new StorageError('full', `ENOSPC writing ${key}`);
    };
    try {
      const r = await upload(ana, '/f/a', 10);
      expect(r.status).toBe(507);
      expect(r.json.error_code).toBe('RESOURCE_EXHAUSTED');
      expect((await status(ana, '/f/a')).status).toBe(404);
    } finally {
      store.put = put;
    }
  });
});
