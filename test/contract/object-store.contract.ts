/**
 * @module object-store.contract
 * The ObjectStore contract. Every adapter's test file calls `runObjectStoreContract`, so the memory fake and
 * the real stores cannot drift apart.
 */
import { describe, expect, it } from 'vitest';
import { StorageError, type ObjectStore, type StorageErrorKind } from '../../src/core/storage/object-store.ts';
import { equalBytes, failingStream, pattern, readAll, streamOf, text } from '../helpers/streams.ts';

export interface StoreUnderTest {
  store: ObjectStore;
  cleanup?: () => Promise<void>;
}

async function kindOf(p: Promise<unknown>): Promise<StorageErrorKind | 'resolved' | 'other'> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return err instanceof StorageError ? err.kind : 'other';
  }
}

async function put(store: ObjectStore, key: string, bytes: Uint8Array) {
  return store.put(key, streamOf(bytes, 16 * 1024));
}

async function getBytes(store: ObjectStore, key: string, opts?: Parameters<ObjectStore['get']>[1]) {
  const r = await store.get(key, opts);
  return { ...r, bytes: await readAll(r.body) };
}

async function listAll(store: ObjectStore, prefix: string, delimiter: string | undefined, limit: number) {
  const keys: string[] = [];
  const prefixes: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const r = await store.list(prefix, { limit, ...(delimiter ? { delimiter } : {}), ...(cursor ? { cursor } : {}) });
    expect(r.objects.length + r.prefixes.length).toBeLessThanOrEqual(limit);
    keys.push(...r.objects.map((o) => o.key));
    prefixes.push(...r.prefixes);
    if (r.cursor === undefined) return { keys, prefixes };
    cursor = r.cursor;
  }
  throw new Error('listing did not end');
}

export function runObjectStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    async function withStore(fn: (s: ObjectStore) => Promise<void>): Promise<void> {
      const { store, cleanup } = await makeStore();
      try {
        await fn(store);
      } finally {
        await cleanup?.();
      }
    }

    it('head and get of a missing key', () =>
      withStore(async (s) => {
        expect(await s.head('nope/missing.bin')).toBeNull();
        expect(await kindOf(s.get('nope/missing.bin'))).toBe('not_found');
      }));

    it('put returns the metadata head and get report, with a strong quoted ETag', () =>
      withStore(async (s) => {
        const bytes = pattern(200_000, 7);
        const meta = await put(s, 'm/1/model.pkl', bytes);
        expect(meta).toMatchObject({ key: 'm/1/model.pkl', size: 200_000 });
        expect(meta.etag).toMatch(/^"[\x21\x23-\x7e]+"$/);
        expect(Number.isInteger(meta.lastModified)).toBe(true);
        expect(await s.head('m/1/model.pkl')).toEqual(meta);
        const got = await getBytes(s, 'm/1/model.pkl');
        expect(got.meta).toEqual(meta);
        expect(got.length).toBe(200_000);
        expect(got.range).toBeUndefined();
        expect(equalBytes(got.bytes, bytes)).toBe(true);
      }));

    it('the ETag changes when the content changes', () =>
      withStore(async (s) => {
        const a = await put(s, 'k', text('version one'));
        const b = await put(s, 'k', text('version two!'));
        const c = await put(s, 'k', text('version 3!!!'));
        expect(new Set([a.etag, b.etag, c.etag]).size).toBe(3);
        expect(new TextDecoder().decode((await getBytes(s, 'k')).bytes)).toBe('version 3!!!');
      }));

    it('serves inclusive ranges, clamps the end, and refuses a start past the end', () =>
      withStore(async (s) => {
        const bytes = pattern(150_000, 3);
        await put(s, 'r', bytes);
        const first = await getBytes(s, 'r', { range: { start: 0, end: 0 } });
        expect(first.range).toEqual({ start: 0, end: 0 });
        expect(first.length).toBe(1);
        expect(Array.from(first.bytes)).toEqual([bytes[0]]);
        const mid = await getBytes(s, 'r', { range: { start: 65_000, end: 140_000 } });
        expect(mid.length).toBe(75_001);
        expect(equalBytes(mid.bytes, bytes.slice(65_000, 140_001))).toBe(true);
        const tail = await getBytes(s, 'r', { range: { start: 149_990, end: 10_000_000 } });
        expect(tail.range).toEqual({ start: 149_990, end: 149_999 });
        expect(equalBytes(tail.bytes, bytes.slice(149_990))).toBe(true);
        expect(await kindOf(s.get('r', { range: { start: 150_000, end: 150_001 } }))).toBe('invalid');
        expect(await kindOf(s.get('r', { range: { start: 5, end: 4 } }))).toBe('invalid');
      }));

    it('ifMatch: the current ETag reads, any other fails with precondition_failed', () =>
      withStore(async (s) => {
        const meta = await put(s, 'im', text('hello world'));
        const ok = await getBytes(s, 'im', { ifMatch: meta.etag, range: { start: 6, end: 10 } });
        expect(new TextDecoder().decode(ok.bytes)).toBe('world');
        expect(await kindOf(s.get('im', { ifMatch: '"not-it"' }))).toBe('precondition_failed');
        expect(await kindOf(s.get('im', { ifMatch: `W/${meta.etag}` }))).toBe('precondition_failed');
        await put(s, 'im', text('changed'));
        expect(await kindOf(s.get('im', { ifMatch: meta.etag }))).toBe('precondition_failed');
      }));

    it('put is atomic: an aborted upload leaves the old object, or none', () =>
      withStore(async (s) => {
        const old = await put(s, 'a/atomic.bin', text('old bytes'));
        expect(await kindOf(s.put('a/atomic.bin', failingStream(pattern(100_000))))).not.toBe('resolved');
        expect(await s.head('a/atomic.bin')).toEqual(old);
        expect(new TextDecoder().decode((await getBytes(s, 'a/atomic.bin')).bytes)).toBe('old bytes');
        expect(await kindOf(s.put('a/fresh.bin', failingStream(pattern(10))))).not.toBe('resolved');
        expect(await s.head('a/fresh.bin')).toBeNull();
        expect((await s.list('a/')).objects.map((o) => o.key)).toEqual(['a/atomic.bin']);
      }));

    it('put with contentLength refuses a body of another length and stores nothing', () =>
      withStore(async (s) => {
        expect(await kindOf(s.put('short', streamOf(text('abc')), { contentLength: 4 }))).not.toBe('resolved');
        expect(await kindOf(s.put('long', streamOf(text('abcde')), { contentLength: 4 }))).not.toBe('resolved');
        expect(await s.head('short')).toBeNull();
        expect(await s.head('long')).toBeNull();
        const meta = await s.put('exact', streamOf(text('abcd')), { contentLength: 4 });
        expect(meta.size).toBe(4);
      }));

    it('lists with a delimiter and pages through objects and prefixes alike', () =>
      withStore(async (s) => {
        const keys = ['a/1', 'a/2', 'a/b/3', 'a/b/4', 'a/c/5', 'ab', 'b', 'c/d/e'];
        for (const k of keys) await put(s, k, text(k));
        const top = await s.list('', { delimiter: '/' });
        expect(top.objects.map((o) => o.key)).toEqual(['ab', 'b']);
        expect(top.prefixes).toEqual(['a/', 'c/']);
        expect(top.cursor).toBeUndefined();
        expect(top.objects[0]).toMatchObject({ size: 2 });
        const inA = await s.list('a/', { delimiter: '/' });
        expect(inA.objects.map((o) => o.key)).toEqual(['a/1', 'a/2']);
        expect(inA.prefixes).toEqual(['a/b/', 'a/c/']);
        expect((await s.list('a')).objects.map((o) => o.key)).toEqual(['a/1', 'a/2', 'a/b/3', 'a/b/4', 'a/c/5', 'ab']);
        expect(await s.list('a', { delimiter: '/' })).toEqual({ objects: [expect.objectContaining({ key: 'ab' })], prefixes: ['a/'] });
        expect((await s.list('a/b')).objects.map((o) => o.key)).toEqual(['a/b/3', 'a/b/4']);
        expect(await s.list('zzz/')).toEqual({ objects: [], prefixes: [] });
        for (const limit of [1, 2, 3]) {
          expect(await listAll(s, '', undefined, limit)).toEqual({ keys, prefixes: [] });
          expect(await listAll(s, '', '/', limit)).toEqual({ keys: ['ab', 'b'], prefixes: ['a/', 'c/'] });
          expect(await listAll(s, 'a/', '/', limit)).toEqual({ keys: ['a/1', 'a/2'], prefixes: ['a/b/', 'a/c/'] });
        }
        expect(await kindOf(s.list('', { limit: 0 }))).toBe('invalid');
      }));

    it('deletes idempotently, and a deleted directory-like prefix can become a key', () =>
      withStore(async (s) => {
        await put(s, 'd/x/y', text('1'));
        await s.delete('d/x/y');
        expect(await s.head('d/x/y')).toBeNull();
        await s.delete('d/x/y');
        await s.delete('never/was');
        expect((await s.list('d/')).objects).toEqual([]);
        await put(s, 'd/x', text('now a file'));
        expect((await s.head('d/x'))?.size).toBe(10);
      }));

    it('copies bytes to a new key and leaves the source', () =>
      withStore(async (s) => {
        const bytes = pattern(70_000, 9);
        await put(s, 'src/obj', bytes);
        const meta = await s.copy('src/obj', 'dst/deep/obj');
        expect(meta).toMatchObject({ key: 'dst/deep/obj', size: 70_000 });
        expect(meta.etag).toMatch(/^"[^"]+"$/);
        expect(equalBytes((await getBytes(s, 'dst/deep/obj')).bytes, bytes)).toBe(true);
        expect((await s.head('src/obj'))?.size).toBe(70_000);
        expect(await kindOf(s.copy('src/missing', 'dst/x'))).toBe('not_found');
        expect(await s.head('dst/x')).toBeNull();
      }));

    it('a copy keeps its bytes and ETag when the source is replaced or deleted, and vice versa', () =>
      withStore(async (s) => {
        const original = pattern(70_000, 3);
        await put(s, 'up/model.bin', original);
        const copy = await s.copy('up/model.bin', 'reg/model.bin');
        // Adapters that share storage (a hard link, a shared buffer) must still behave like a byte copy.
        const replaced = pattern(70_000, 4);
        const newSource = await put(s, 'up/model.bin', replaced);
        expect(newSource.etag).not.toBe(copy.etag);
        const got = await getBytes(s, 'reg/model.bin');
        expect(equalBytes(got.bytes, original)).toBe(true);
        expect(got.meta.etag).toBe(copy.etag);
        expect(await s.head('reg/model.bin')).toEqual(copy);
        expect(equalBytes((await getBytes(s, 'up/model.bin')).bytes, replaced)).toBe(true);
        await s.delete('up/model.bin');
        expect(equalBytes((await getBytes(s, 'reg/model.bin')).bytes, original)).toBe(true);
        // A put over the copy leaves the source alone.
        await put(s, 'up/again.bin', original);
        await s.copy('up/again.bin', 'reg/again.bin');
        await put(s, 'reg/again.bin', replaced);
        expect(equalBytes((await getBytes(s, 'up/again.bin')).bytes, original)).toBe(true);
        expect(equalBytes((await getBytes(s, 'reg/again.bin')).bytes, replaced)).toBe(true);
      }));

    it('copy replaces an existing destination, copies onto itself, and refuses missing sources without a trace', () =>
      withStore(async (s) => {
        await put(s, 'a/src', text('new bytes'));
        await put(s, 'a/dst', text('old'));
        const meta = await s.copy('a/src', 'a/dst');
        expect(meta.size).toBe(9);
        expect(new TextDecoder().decode((await getBytes(s, 'a/dst')).bytes)).toBe('new bytes');
        // Again onto the same destination (already the same object), and onto itself.
        expect((await s.copy('a/src', 'a/dst')).size).toBe(9);
        expect((await s.copy('a/src', 'a/src')).size).toBe(9);
        expect(new TextDecoder().decode((await getBytes(s, 'a/src')).bytes)).toBe('new bytes');
        expect(await kindOf(s.copy('a/missing', 'a/dst'))).toBe('not_found');
        expect(new TextDecoder().decode((await getBytes(s, 'a/dst')).bytes)).toBe('new bytes');
        expect(await kindOf(s.copy('a', 'b/x'))).toBe('not_found');
        expect(await s.head('b/x')).toBeNull();
        expect((await s.list('')).objects.map((o) => o.key)).toEqual(['a/dst', 'a/src']);
      }));

    it('stores empty objects', () =>
      withStore(async (s) => {
        const meta = await s.put('empty', streamOf(new Uint8Array(0)));
        expect(meta.size).toBe(0);
        const got = await getBytes(s, 'empty');
        expect(got.length).toBe(0);
        expect(got.bytes.length).toBe(0);
        expect(await kindOf(s.get('empty', { range: { start: 0, end: 0 } }))).toBe('invalid');
        expect((await s.list('')).objects.map((o) => o.key)).toEqual(['empty']);
      }));

    it('keys with spaces and unicode round-trip and list in UTF-8 byte order', () =>
      withStore(async (s) => {
        const keys = ['models/my model/ü数据 🚀.bin', 'models/my model/a\uFFFD', 'models/my model/a\u{1F600}', 'models/my model/Z'];
        for (const k of keys) await put(s, k, text(k));
        for (const k of keys) expect(new TextDecoder().decode((await getBytes(s, k)).bytes)).toBe(k);
        const listed = (await s.list('models/my model/')).objects.map((o) => o.key);
        expect(listed).toEqual(['models/my model/Z', 'models/my model/a\uFFFD', 'models/my model/a\u{1F600}', 'models/my model/ü数据 🚀.bin']);
        expect((await s.list('models/', { delimiter: '/' })).prefixes).toEqual(['models/my model/']);
      }));

    it('refuses invalid keys before touching storage', () =>
      withStore(async (s) => {
        const bad = ['', '/abs', '../x', 'a/../b', 'a/./b', 'a//b', 'a/', 'a\\b', 'a\u0000b', '\uD800'];
        for (const k of bad) {
          expect(await kindOf(s.head(k)), JSON.stringify(k)).toBe('invalid');
          expect(await kindOf(s.get(k))).toBe('invalid');
          expect(await kindOf(s.put(k, streamOf(text('x'))))).toBe('invalid');
          expect(await kindOf(s.delete(k))).toBe('invalid');
        }
        // 1024 UTF-8 bytes in segments short enough for any filesystem: valid; one byte more: not.
        const longest = `${'é'.repeat(100)}/`.repeat(5) + 'x'.repeat(19);
        expect(await kindOf(s.put(longest, streamOf(text('edge'))))).toBe('resolved');
        expect((await s.head(longest))?.size).toBe(4);
        expect(await kindOf(s.head(`${longest}x`))).toBe('name_too_long');
      }));

    it('refuses names over the limits with name_too_long (255 bytes a segment, 1024 a key) and writes nothing', () =>
      withStore(async (s) => {
        // 255 UTF-8 bytes in one segment, in ASCII and in two-byte characters: valid everywhere.
        for (const seg of ['x'.repeat(255), `${'é'.repeat(127)}x`]) {
          expect(await kindOf(put(s, `n/${seg}`, text('ok'))), seg).toBe('resolved');
          expect((await s.head(`n/${seg}`))?.size).toBe(2);
        }
        const tooLong = ['x'.repeat(256), `${'é'.repeat(128)}`, `${'y'.repeat(300)}/f`, `${'a/'.repeat(512)}b`, 'z'.repeat(1025)];
        for (const k of tooLong) {
          expect(await kindOf(put(s, `n/${k}`, text('no'))), k.slice(0, 20)).toBe('name_too_long');
          expect(await kindOf(s.head(`n/${k}`))).toBe('name_too_long');
          expect(await kindOf(s.get(`n/${k}`))).toBe('name_too_long');
          expect(await kindOf(s.copy('n/' + 'x'.repeat(255), `n/${k}`))).toBe('name_too_long');
        }
        expect((await s.list('n/')).objects.map((o) => o.key).sort()).toEqual([`n/${'x'.repeat(255)}`, `n/${'é'.repeat(127)}x`].sort());
      }));

    it('a key cannot be an object and a directory of other objects: conflict in either order, nothing written', () =>
      withStore(async (s) => {
        const fileFirst = await put(s, 'c/a', text('file'));
        expect(await kindOf(put(s, 'c/a/b', text('under a file')))).toBe('conflict');
        expect(await kindOf(put(s, 'c/a/b/deeper', text('under a file')))).toBe('conflict');
        expect(await s.head('c/a/b')).toBeNull();
        expect(await s.head('c/a')).toEqual(fileFirst);
        const dirFirst = await put(s, 'd/a/b/c', text('deep'));
        expect(await kindOf(put(s, 'd/a', text('over a directory')))).toBe('conflict');
        expect(await kindOf(put(s, 'd/a/b', text('over a directory')))).toBe('conflict');
        expect(await s.head('d/a')).toBeNull();
        expect(await s.head('d/a/b/c')).toEqual(dirFirst);
        // Copies follow the same rule, in both directions.
        expect(await kindOf(s.copy('c/a', 'd/a'))).toBe('conflict');
        expect(await kindOf(s.copy('d/a/b/c', 'c/a/x'))).toBe('conflict');
        expect((await s.list('')).objects.map((o) => o.key)).toEqual(['c/a', 'd/a/b/c']);
        // Replacing an object, or a sibling that merely shares a name prefix, is no conflict.
        expect(await kindOf(put(s, 'c/a', text('again')))).toBe('resolved');
        expect(await kindOf(put(s, 'c/ab', text('sibling')))).toBe('resolved');
        expect(await kindOf(put(s, 'd/a.b', text('sibling')))).toBe('resolved');
        // Once the object (or every object below the directory) is gone, the name is free for the other use.
        await s.delete('c/a');
        expect(await kindOf(put(s, 'c/a/b', text('now a directory')))).toBe('resolved');
        await s.delete('d/a/b/c');
        expect(await kindOf(put(s, 'd/a', text('now a file')))).toBe('resolved');
      }));

    it('a cancelled body stops reading, and an aborted signal fails the read', () =>
      withStore(async (s) => {
        await put(s, 'big', pattern(3_000_000, 5));
        const r = await s.get('big');
        const reader = r.body.getReader();
        const first = await reader.read();
        expect(first.done).toBe(false);
        await reader.cancel();
        const ac = new AbortController();
        ac.abort(new Error('client left'));
        expect(await kindOf(s.get('big', { signal: ac.signal }))).not.toBe('resolved');
        const ac2 = new AbortController();
        const r2 = await s.get('big', { signal: ac2.signal });
        const reader2 = r2.body.getReader();
        await reader2.read();
        ac2.abort(new Error('client left'));
        await expect(
          (async () => {
            for (;;) if ((await reader2.read()).done) return 'ended';
          })(),
        ).rejects.toBeDefined();
      }));
  });
}
