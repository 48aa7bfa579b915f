/**
 * R2ObjectStore against real R2 as miniflare 5 runs it (workerd's R2, from Node through the binding's proxy):
 * the shared ObjectStore contract, then the R2 quirks the adapter absorbs. The FixedLengthStream put path runs
 * here through the proxy's own FixedLengthStream (see test/helpers/miniflare-r2.ts) and natively in
 * test/workerd/r2-object-store.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { R2ObjectStore, type R2ObjectStoreOptions } from '../../src/adapters/r2/r2-object-store.ts';
import type { R2BucketLike, R2MultipartUploadLike } from '../../src/adapters/r2/r2-types.ts';
import { StorageError } from '../../src/core/storage/object-store.ts';
import { miniflareR2Pool, proxyKnownLength } from '../helpers/miniflare-r2.ts';
import { equalBytes, failingStream, pattern, readAll, streamOf, text } from '../helpers/streams.ts';
import { runObjectStoreContract } from './object-store.contract.ts';

const pool = miniflareR2Pool();
afterAll(() => pool.disposeAll(), 30_000);

async function makeR2(opts: R2ObjectStoreOptions = {}) {
  const bucket = await pool.bucket();
  return { bucket, store: new R2ObjectStore(bucket, { knownLength: proxyKnownLength, ...opts }) };
}

runObjectStoreContract('R2ObjectStore (miniflare)', () => makeR2());

const MiB = 1024 * 1024;

/** Records every multipart upload the store starts, so a test can check it was aborted or completed. */
function spied(bucket: R2BucketLike): { bucket: R2BucketLike; uploads: R2MultipartUploadLike[] } {
  const uploads: R2MultipartUploadLike[] = [];
  const wrapped: R2BucketLike = {
    head: (k) => bucket.head(k),
    get: (k, o) => bucket.get(k, o),
    put: (k, v) => bucket.put(k, v),
    delete: (k) => bucket.delete(k),
    list: (o) => bucket.list(o),
    createMultipartUpload: async (k) => {
      const u = await bucket.createMultipartUpload(k);
      uploads.push(u);
      return u;
    },
  };
  return { bucket: wrapped, uploads };
}

/** An aborted (or completed) upload takes no more parts: R2 answers NoSuchUpload. */
async function isClosed(u: R2MultipartUploadLike): Promise<boolean> {
  try {
    await u.uploadPart(99, new Uint8Array(1));
    return false;
  } catch {
    return true;
  }
}

describe('R2ObjectStore: R2 quirks absorbed (miniflare)', () => {
  it('ETags are quoted on the port, R2 keeps them bare, and ifMatch works in the port form only', async () => {
    const { bucket, store } = await makeR2();
    const meta = await store.put('q/x', streamOf(text('hello')));
    const raw = await bucket.head('q/x');
    expect(raw!.etag).toMatch(/^[0-9a-f]{32}$/);
    expect(meta.etag).toBe(`"${raw!.etag}"`);
    expect((await store.list('q/')).objects[0]!.etag).toBe(meta.etag);
    expect(new TextDecoder().decode(await readAll((await store.get('q/x', { ifMatch: meta.etag })).body))).toBe('hello');
    // The bare form is not an HTTP entity tag: never a match (R2 itself would have taken it).
    await expect(store.get('q/x', { ifMatch: raw!.etag })).rejects.toMatchObject({ kind: 'precondition_failed' });
    await expect(store.get('q/missing', { ifMatch: meta.etag })).rejects.toMatchObject({ kind: 'not_found' });
    await expect(store.get('q/missing', { ifMatch: 'W/"x"' })).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('a range past the end (R2: an opaque error) is `invalid`, an end past it is clamped, and a mismatch wins over the range', async () => {
    const { bucket, store } = await makeR2();
    const meta = await store.put('r/x', streamOf(pattern(1000, 4)));
    // What R2 does on its own: the error this adapter has to explain.
    await expect(bucket.get('r/x', { range: { offset: 1000, length: 1 } })).rejects.toThrow(/^get: .*\(\d+\)$/);
    const err = await store.get('r/x', { range: { start: 1000, end: 2000 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(err).toMatchObject({ kind: 'invalid', message: expect.stringMatching(/past the object's 1000 bytes/) });
    await expect(store.get('r/x', { range: { start: 1000, end: 2000 }, ifMatch: '"other"' })).rejects.toMatchObject({ kind: 'precondition_failed' });
    await expect(store.get('r/missing', { range: { start: 5, end: 6 } })).rejects.toMatchObject({ kind: 'not_found' });
    const tail = await store.get('r/x', { range: { start: 990, end: Number.MAX_SAFE_INTEGER - 1 }, ifMatch: meta.etag });
    expect(tail.range).toEqual({ start: 990, end: 999 });
    expect(tail.length).toBe(10);
    expect(equalBytes(await readAll(tail.body), pattern(1000, 4).slice(990))).toBe(true);
  });

  it('a body of unknown length longer than one part goes up as a multipart upload of equal parts', async () => {
    const { bucket, uploads } = spied(await pool.bucket());
    const store = new R2ObjectStore(bucket, { knownLength: proxyKnownLength, partSize: 5 * MiB });
    const bytes = pattern(12 * MiB + 3, 11);
    const meta = await store.put('big/model.bin', streamOf(bytes, 777_777));
    expect(uploads).toHaveLength(1);
    expect(meta).toMatchObject({ size: bytes.length, etag: expect.stringMatching(/^"[0-9a-f]+-3"$/) });
    expect(await store.head('big/model.bin')).toEqual(meta);
    expect(equalBytes(await readAll((await store.get('big/model.bin')).body), bytes)).toBe(true);
    expect(await isClosed(uploads[0]!)).toBe(true);
  });

  it('a declared length goes up as one known-length put, however long; a wrong length stores nothing', async () => {
    const { bucket, uploads } = spied(await pool.bucket());
    const store = new R2ObjectStore(bucket, { knownLength: proxyKnownLength, partSize: 5 * MiB });
    const bytes = pattern(11 * MiB, 3);
    const meta = await store.put('k/exact', streamOf(bytes, 100_000), { contentLength: bytes.length });
    expect(uploads).toHaveLength(0);
    expect(meta.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(equalBytes(await readAll((await store.get('k/exact')).body), bytes)).toBe(true);
    await expect(store.put('k/long', streamOf(bytes), { contentLength: bytes.length - 1 })).rejects.toMatchObject({ kind: 'invalid' });
    await expect(store.put('k/short', streamOf(bytes), { contentLength: bytes.length + 1 })).rejects.toMatchObject({ kind: 'invalid' });
    // A body that fails right after its last declared byte: R2 must never get the complete body.
    await expect(store.put('k/broken', failingStream(pattern(1000)), { contentLength: 1000 })).rejects.toMatchObject({ kind: 'internal' });
    expect(await store.list('k/')).toEqual({ objects: [expect.objectContaining({ key: 'k/exact' })], prefixes: [] });
  });

  it('a failed multipart upload (body error, abort) is aborted and leaves nothing', async () => {
    const { bucket, uploads } = spied(await pool.bucket());
    const store = new R2ObjectStore(bucket, { knownLength: proxyKnownLength, partSize: 5 * MiB });
    await expect(store.put('f/broken', failingStream(pattern(11 * MiB)))).rejects.toBeInstanceOf(StorageError);
    const ac = new AbortController();
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        sent += MiB;
        if (sent === 7 * MiB) ac.abort(new Error('client left')); // after the first part is on its way
        c.enqueue(pattern(MiB, sent));
      },
    });
    await expect(store.put('f/aborted', body, { signal: ac.signal })).rejects.toBeInstanceOf(StorageError);
    expect(uploads).toHaveLength(2);
    for (const u of uploads) expect(await isClosed(u)).toBe(true);
    expect(await store.head('f/broken')).toBeNull();
    expect(await store.head('f/aborted')).toBeNull();
    expect(await store.list('f/')).toEqual({ objects: [], prefixes: [] });
  });

  it('copies an object larger than one copy part as a multipart upload of ranged reads (R2 has no server-side copy)', async () => {
    const { bucket, uploads } = spied(await pool.bucket());
    const store = new R2ObjectStore(bucket, { knownLength: proxyKnownLength, copyThreshold: 6 * MiB, copyPartSize: 5 * MiB });
    const bytes = pattern(11 * MiB + 5, 2);
    const src = await store.put('src/large', streamOf(bytes), { contentLength: bytes.length });
    const meta = await store.copy('src/large', 'dst/large');
    expect(uploads).toHaveLength(1);
    expect(meta).toMatchObject({ key: 'dst/large', size: bytes.length, etag: expect.stringMatching(/-3"$/) });
    expect(await store.head('dst/large')).toEqual(meta);
    expect(equalBytes(await readAll((await store.get('dst/large')).body), bytes)).toBe(true);
    // Below the threshold: one streamed put of the same bytes, so R2's plain MD5 ETag equals the source's.
    const one = await new R2ObjectStore(bucket, { knownLength: proxyKnownLength }).copy('src/large', 'dst/one-put');
    expect(uploads).toHaveLength(1);
    expect(one).toMatchObject({ size: bytes.length, etag: src.etag });
    expect(equalBytes(await readAll((await store.get('dst/one-put')).body), bytes)).toBe(true);
  });

  it('a copy whose source changes mid-way fails and aborts its upload, leaving no destination', async () => {
    const inner = await pool.bucket();
    const { bucket: spy, uploads } = spied(inner);
    let reads = 0;
    const bucket: R2BucketLike = {
      ...spy,
      // The source is replaced right after the first part was read.
      get: async (k, o) => {
        const r = await inner.get(k, o);
        if (o?.range && ++reads === 1) await inner.put(k, pattern(11 * MiB + 5, 9));
        return r;
      },
    };
    const store = new R2ObjectStore(bucket, { knownLength: proxyKnownLength, copyThreshold: 6 * MiB, copyPartSize: 5 * MiB });
    await store.put('src/large', streamOf(pattern(11 * MiB + 5, 2)), { contentLength: 11 * MiB + 5 });
    await expect(store.copy('src/large', 'dst/large')).rejects.toMatchObject({ kind: 'precondition_failed' });
    expect(uploads).toHaveLength(1);
    expect(await isClosed(uploads[0]!)).toBe(true);
    expect(await store.head('dst/large')).toBeNull();
  });

  it('outside workerd a put needs the knownLength option: without it the put fails and stores nothing; parts must be ≥ 5 MiB', async () => {
    const bucket = await pool.bucket();
    const store = new R2ObjectStore(bucket);
    const err = await store.put('n/x', streamOf(text('abc')), { contentLength: 3 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'internal', message: expect.stringMatching(/FixedLengthStream/) });
    expect(await store.head('n/x')).toBeNull();
    // A body of unknown length within one part is sent as bytes, which needs no known-length stream.
    expect((await store.put('n/y', streamOf(text('abc')))).size).toBe(3);
    expect(() => new R2ObjectStore(bucket, { partSize: MiB })).toThrow(RangeError);
    expect(() => new R2ObjectStore(bucket, { copyPartSize: MiB })).toThrow(RangeError);
  });

  it('a served range is taken as reported, clamped or not; a binding that ignores the range is `internal`, its body cancelled', async () => {
    const inner = await pool.bucket();
    await inner.put('x', pattern(100, 1));
    let report: 'unclamped' | 'none' = 'unclamped';
    let cancelled = false;
    // Stands in for a binding that reports the range as asked (not clamped), or none at all.
    const bucket: R2BucketLike = {
      ...spied(inner).bucket,
      get: async (k, o) => {
        const r = await inner.get(k, o);
        if (!r || !('body' in r)) return r;
        const body = new ReadableStream<Uint8Array>({ pull: async (c) => c.enqueue(pattern(1, 1)), cancel: () => void (cancelled = true) });
        void r.body.cancel();
        return { key: r.key, size: r.size, etag: r.etag, uploaded: r.uploaded, body, ...(report === 'unclamped' && o?.range ? { range: o.range } : {}) };
      },
    };
    const store = new R2ObjectStore(bucket, { knownLength: proxyKnownLength });
    const tail = await store.get('x', { range: { start: 90, end: 1000 } });
    expect(tail.range).toEqual({ start: 90, end: 99 });
    expect(tail.length).toBe(10);
    await tail.release();
    expect(cancelled).toBe(true);
    report = 'none';
    cancelled = false;
    await expect(store.get('x', { range: { start: 90, end: 1000 } })).rejects.toMatchObject({ kind: 'internal' });
    expect(cancelled).toBe(true);
  });

  it('R2 errors map to StorageError kinds by their code', async () => {
    const { toR2StorageError } = await import('../../src/adapters/r2/r2-errors.ts');
    expect(toR2StorageError(new Error('get: The requested range is not satisfiable (10039)'), 'GET k').kind).toBe('invalid');
    expect(toR2StorageError(new Error('put: Reduce your concurrent request rate for the same object. (10058)'), 'PUT k')).toMatchObject({ kind: 'unavailable', retryAfter: 1 });
    expect(toR2StorageError(new Error('get: Precondition Failed (10031)'), 'GET k').kind).toBe('precondition_failed');
    expect(toR2StorageError(new Error('head: Unauthorized (10001)'), 'HEAD k').kind).toBe('internal');
    expect(toR2StorageError(Object.assign(new Error('The operation timed out'), { name: 'TimeoutError' }), 'GET k').kind).toBe('timeout');
  });
});
