/**
 * worker-native-bodies.ts: R2 reads without the abort signal (so the body is R2's own stream, piped natively by
 * the Worker's responder) while the signal keeps its meaning: aborted before the read → rejected with no read;
 * aborted while the read is pending → rejected at once and the late result released; aborted with the body
 * open and unread → the body cancelled. On R2 in workerd (the ARTIFACTS binding).
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { R2ObjectStore } from '../../src/adapters/r2/r2-object-store.ts';
import type { R2BucketLike } from '../../src/adapters/r2/r2-types.ts';
import { StorageError, type GetOptions, type GetResult, type ObjectStore } from '../../src/core/storage/object-store.ts';
import { withNativeBodies } from '../../src/runtime/worker-native-bodies.ts';
import { equalBytes, pattern, streamOf } from '../helpers/streams.ts';

const r2 = () => new R2ObjectStore(env.ARTIFACTS as R2BucketLike);
const BYTES = pattern(300_000, 2);

/** A store whose `get` waits for `release()` of the test, recording what it was asked. */
function gated(inner: ObjectStore) {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const asked: GetOptions[] = [];
  const released: unknown[] = [];
  const store: ObjectStore = {
    ...inner,
    head: (k, o) => inner.head(k, o),
    put: (k, b, o) => inner.put(k, b, o),
    list: (p, o) => inner.list(p, o),
    delete: (k) => inner.delete(k),
    copy: (a, b) => inner.copy(a, b),
    async get(k, o = {}) {
      asked.push(o);
      await gate;
      const res = await inner.get(k, o);
      return { ...res, meta: res.meta, length: res.length, get body() { return res.body; }, release: (reason?: unknown) => (released.push(reason), res.release(reason)) } as GetResult;
    },
  };
  return { store, open, asked, released };
}

describe('withNativeBodies on R2', () => {
  it('hands over R2’s own stream as nodeStream(), without passing the signal to the store', async () => {
    const inner = r2();
    await inner.put('nb/a.bin', streamOf(BYTES));
    const g = gated(inner);
    const store = withNativeBodies(g.store);
    g.open();
    const res = await store.get('nb/a.bin', { signal: new AbortController().signal, range: { start: 10, end: 109 } });
    expect(g.asked[0]!.signal).toBeUndefined();
    expect(g.asked[0]!.range).toEqual({ start: 10, end: 109 });
    const native = res.nodeStream!() as ReadableStream<Uint8Array>;
    expect(native).toBeInstanceOf(ReadableStream);
    expect(res.nodeStream!()).toBeUndefined(); // taken once
    // Natively pipeable into a FixedLengthStream (an identity TransformStream's readable would hang here).
    const fixed = new (globalThis as unknown as { FixedLengthStream: new (n: number) => TransformStream<Uint8Array, Uint8Array> }).FixedLengthStream(100);
    const [, body] = await Promise.all([native.pipeTo(fixed.writable), new Response(fixed.readable).arrayBuffer()]);
    expect(equalBytes(new Uint8Array(body), BYTES.slice(10, 110))).toBe(true);
  });

  it('aborted before the read: rejects without reading', async () => {
    const g = gated(r2());
    const ac = new AbortController();
    ac.abort(new Error('gone'));
    await expect(withNativeBodies(g.store).get('nb/a.bin', { signal: ac.signal })).rejects.toBeInstanceOf(StorageError);
    expect(g.asked).toEqual([]);
  });

  it('aborted while the read is pending: rejects at once, and the late result is released', async () => {
    const inner = r2();
    await inner.put('nb/b.bin', streamOf(BYTES));
    const g = gated(inner);
    const ac = new AbortController();
    const pending = withNativeBodies(g.store).get('nb/b.bin', { signal: ac.signal });
    ac.abort(new Error('deadline'));
    await expect(pending).rejects.toBeInstanceOf(StorageError);
    expect(g.released).toEqual([]);
    g.open();
    await expect.poll(() => g.released.length).toBe(1);
  });

  it('aborted with the body open and unread: the body is cancelled', async () => {
    const inner = r2();
    await inner.put('nb/c.bin', streamOf(BYTES));
    const g = gated(inner);
    g.open();
    const ac = new AbortController();
    const res = await withNativeBodies(g.store).get('nb/c.bin', { signal: ac.signal });
    ac.abort(new Error('refused'));
    // A cancelled stream reads as done at once, with nothing in it.
    const r = await res.body.getReader().read();
    expect(r.done).toBe(true);
  });
});
