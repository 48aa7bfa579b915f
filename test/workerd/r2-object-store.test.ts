/**
 * R2ObjectStore inside workerd, on the `ARTIFACTS` binding of wrangler.toml (the vitest workerd project): the
 * shared ObjectStore contract and the paths that exist only there, chiefly `put` through workerd's own
 * FixedLengthStream (the Node suite, test/contract/r2-object-store.test.ts, reaches R2 through miniflare's proxy).
 * The tests share one bucket, so each store is cleaned (every object deleted) after its test.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { R2ObjectStore } from '../../src/adapters/r2/r2-object-store.ts';
import type { R2BucketLike } from '../../src/adapters/r2/r2-types.ts';
import { equalBytes, failingStream, pattern, readAll, streamOf } from '../helpers/streams.ts';
import { runObjectStoreContract } from '../contract/object-store.contract.ts';

const bucket = env.ARTIFACTS as R2BucketLike;
const MiB = 1024 * 1024;

async function emptyBucket(): Promise<void> {
  for (;;) {
    const page = await bucket.list({ limit: 1000 });
    if (page.objects.length > 0) await bucket.delete(page.objects.map((o) => o.key));
    if (!page.truncated) return;
  }
}

async function makeStore() {
  await emptyBucket();
  return { store: new R2ObjectStore(bucket), cleanup: emptyBucket };
}

runObjectStoreContract('R2ObjectStore (workerd binding)', makeStore);

describe('R2ObjectStore in workerd', () => {
  it('has FixedLengthStream, and a declared length is one known-length put; a wrong length stores nothing', async () => {
    expect(typeof (globalThis as { FixedLengthStream?: unknown }).FixedLengthStream).toBe('function');
    const { store, cleanup } = await makeStore();
    try {
      const bytes = pattern(6 * MiB + 1, 5);
      const meta = await store.put('k/exact', streamOf(bytes, 100_000), { contentLength: bytes.length });
      // A single put's ETag is the plain MD5 (a multipart one ends in -N).
      expect(meta.etag).toMatch(/^"[0-9a-f]{32}"$/);
      expect(equalBytes(await readAll((await store.get('k/exact')).body), bytes)).toBe(true);
      await expect(store.put('k/long', streamOf(bytes), { contentLength: bytes.length - 1 })).rejects.toMatchObject({ kind: 'invalid' });
      await expect(store.put('k/short', streamOf(bytes), { contentLength: bytes.length + 1 })).rejects.toMatchObject({ kind: 'invalid' });
      await expect(store.put('k/broken', failingStream(pattern(1000)), { contentLength: 1000 })).rejects.toMatchObject({ kind: 'internal' });
      expect((await store.list('k/')).objects.map((o) => o.key)).toEqual(['k/exact']);
    } finally {
      await cleanup();
    }
  });

  it('copies part by part above the threshold, and a range read through the signal-wrapped body is exact', async () => {
    await emptyBucket();
    const store = new R2ObjectStore(bucket, { copyThreshold: 6 * MiB, copyPartSize: 5 * MiB });
    try {
      const bytes = pattern(11 * MiB + 5, 2);
      await store.put('src/large', streamOf(bytes), { contentLength: bytes.length });
      const meta = await store.copy('src/large', 'dst/large');
      expect(meta.etag).toMatch(/-3"$/);
      const ac = new AbortController();
      const r = await store.get('dst/large', { range: { start: 5 * MiB - 3, end: 5 * MiB + 2 }, signal: ac.signal, ifMatch: meta.etag });
      expect(r.range).toEqual({ start: 5 * MiB - 3, end: 5 * MiB + 2 });
      expect(equalBytes(await readAll(r.body), bytes.slice(5 * MiB - 3, 5 * MiB + 3))).toBe(true);
    } finally {
      await emptyBucket();
    }
  });
});
