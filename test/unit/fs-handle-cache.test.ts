/**
 * The fs store's read-handle cache: reads pinned to an ETag reuse one open handle; a put or delete of the key
 * retires it (a new ETag is read from the new file, the old ETag no longer matches); unpinned reads never use
 * it; the bound and the idle limit close handles.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../src/adapters/fs/fs-object-store.ts';
import { HandleCache } from '../../src/adapters/fs/handle-cache.ts';
import { open } from 'node:fs/promises';

let root: string;
let store: FsObjectStore;
const bytes = (s: string) => new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(new TextEncoder().encode(s)), c.close()) });
const text = async (r: { body: ReadableStream<Uint8Array> }) => new Response(r.body).text();

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'regate-handles-'));
  store = new FsObjectStore(root, { durable: false });
});
afterEach(async () => {
  store.closeIdleHandles();
  await rm(root, { recursive: true, force: true });
});

describe('FsObjectStore read handles', () => {
  it('pinned reads share one handle; unpinned reads never keep one', async () => {
    const m = await store.put('k', bytes('hello'));
    expect(await text(await store.get('k'))).toBe('hello');
    expect(store.cachedHandles).toBe(0);
    const a = await store.get('k', { ifMatch: m.etag, range: { start: 1, end: 2 } });
    const b = await store.get('k', { ifMatch: m.etag });
    expect(store.cachedHandles).toBe(1);
    expect(await text(a)).toBe('el');
    expect(await text(b)).toBe('hello');
    expect(store.openReads).toBe(0);
    expect(store.cachedHandles).toBe(1);
  });

  it('a put over the key retires its handle: the new bytes under the new ETag, the old ETag refused', async () => {
    const m1 = await store.put('k', bytes('one'));
    expect(await text(await store.get('k', { ifMatch: m1.etag }))).toBe('one');
    const m2 = await store.put('k', bytes('two!'));
    expect(m2.etag).not.toBe(m1.etag);
    await expect(store.get('k', { ifMatch: m1.etag })).rejects.toMatchObject({ kind: 'precondition_failed' });
    expect(await text(await store.get('k', { ifMatch: m2.etag }))).toBe('two!');
  });

  it('a delete retires the handle and the object is gone', async () => {
    const m = await store.put('k', bytes('x'));
    await text(await store.get('k', { ifMatch: m.etag }));
    expect(store.cachedHandles).toBe(1);
    await store.delete('k');
    expect(store.cachedHandles).toBe(0);
    await expect(store.get('k', { ifMatch: m.etag })).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('a read in progress keeps its handle through a retirement', async () => {
    const m = await store.put('k', bytes('abcdef'));
    const r = await store.get('k', { ifMatch: m.etag });
    await store.delete('k');
    expect(await text(r)).toBe('abcdef');
    // The handle closes once the stream has let it go (asynchronously, after the last byte).
    for (const end = Date.now() + 2000; store.openReads > 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
    expect(store.openReads).toBe(0);
  });
});

describe('HandleCache bounds', () => {
  it('keeps at most `max` idle handles and closes idle ones after idleMs', async () => {
    let now = 0;
    const cache = new HandleCache({ max: 2, idleMs: 1000, now: () => now });
    const file = join(root, 'f');
    await (await open(file, 'w')).close();
    const leases = [];
    for (const key of ['a', 'b', 'c']) {
      const fh = await open(file, 'r');
      const l = cache.adopt(key, '"e"', fh, await fh.stat({ bigint: true }));
      await l.release();
      leases.push(l);
    }
    expect(cache.size).toBe(2);
    expect(leases[0]!.fh.fd).toBe(-1); // closed
    expect(cache.acquire('c', '"other"')).toBeUndefined();
    now = 2000;
    expect(cache.acquire('c', '"e"')).toBeUndefined(); // swept as idle
    expect(cache.size).toBe(0);
  });

  it('closes idle handles on its timer, with no later read to trigger the sweep', async () => {
    let now = 0;
    const timers: Array<() => void> = [];
    const cache = new HandleCache({ idleMs: 1000, now: () => now, timer: (fn) => void timers.push(fn) });
    const file = join(root, 'f');
    await (await open(file, 'w')).close();
    const fh = await open(file, 'r');
    const l = cache.adopt('a', '"e"', fh, await fh.stat({ bigint: true }));
    await l.release();
    expect(timers).toHaveLength(1);
    now = 500;
    timers.shift()!(); // fires early (not yet idle long enough): re-arms
    expect(cache.size).toBe(1);
    expect(timers).toHaveLength(1);
    now = 2000;
    timers.shift()!();
    expect(cache.size).toBe(0);
    for (const end = Date.now() + 2000; fh.fd !== -1 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
    expect(fh.fd).toBe(-1);
    expect(timers).toHaveLength(0);
  });
});
