import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../src/adapters/fs/fs-object-store.ts';
import { StorageError } from '../../src/core/storage/object-store.ts';
import { failingStream, pattern, readAll, streamOf, text } from '../helpers/streams.ts';
import { runObjectStoreContract } from './object-store.contract.ts';

/** Lets pending fs callbacks run until `done()` holds (bounded; no timers). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) await new Promise((resolve) => setImmediate(resolve));
}

async function makeFs(durable = false) {
  const root = await mkdtemp(join(tmpdir(), 'regate-fs-store-'));
  return { root, store: new FsObjectStore(root, { durable }), cleanup: () => rm(root, { recursive: true, force: true }) };
}

runObjectStoreContract('FsObjectStore', () => makeFs());

describe('FsObjectStore specifics', () => {
  it('keeps objects as plain files under the root, and leaves no temp file after a failed put', async () => {
    const { root, store, cleanup } = await makeFs(true);
    try {
      await store.put('m/v1/MLmodel', streamOf(text('artifact_path: model')));
      expect((await stat(join(root, 'm', 'v1', 'MLmodel'))).size).toBe(20);
      await expect(store.put('m/v1/other', failingStream(pattern(1000)))).rejects.toBeInstanceOf(StorageError);
      expect(await readdir(join(root, '.regate-tmp'))).toEqual([]);
      await expect(store.head('.regate-tmp/x')).rejects.toMatchObject({ kind: 'invalid' });
      expect((await store.list('', { delimiter: '/' })).prefixes).toEqual(['m/']);
    } finally {
      await cleanup();
    }
  });

  it('cancelling a read stream closes the file handle; reading to the end closes it too', async () => {
    const { store, cleanup } = await makeFs();
    try {
      await store.put('big', streamOf(pattern(5 * 1024 * 1024)));
      const r = await store.get('big', { range: { start: 100, end: 4_000_000 } });
      expect(store.openReads).toBe(1);
      const reader = r.body.getReader();
      const first = await reader.read();
      expect(first.value!.byteLength).toBeGreaterThan(64 * 1024);
      await reader.cancel();
      await until(() => store.openReads === 0);
      expect(store.openReads).toBe(0);
      const r2 = await store.get('big', { range: { start: 0, end: 10 } });
      await readAll(r2.body);
      await until(() => store.openReads === 0);
      expect(store.openReads).toBe(0);
    } finally {
      await cleanup();
    }
  });

  it('a read that fails its precondition does not hold a handle', async () => {
    const { store, cleanup } = await makeFs();
    try {
      await store.put('k', streamOf(text('abc')));
      await expect(store.get('k', { ifMatch: '"x"' })).rejects.toMatchObject({ kind: 'precondition_failed' });
      expect(store.openReads).toBe(0);
    } finally {
      await cleanup();
    }
  });
});
