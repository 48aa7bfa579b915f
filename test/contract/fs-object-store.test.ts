import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../src/adapters/fs/fs-object-store.ts';
import { StorageError } from '../../src/core/storage/object-store.ts';
import { storageError } from '../../src/adapters/fs/fs-meta.ts';
import { failingStream, pattern, readAll, streamOf, text } from '../helpers/streams.ts';
import { runObjectStoreContract } from './object-store.contract.ts';

/**
 * Lets pending fs callbacks run until `done()` holds. Bounded by wall time, not by turns: under a loaded machine
 * the thread pool's callbacks may need many turns of the loop. The caller's assertion then says what was missing.
 */
async function until(done: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
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

/** Whether this machine lets an unprivileged test mount a tmpfs in a private namespace (Linux `unshare -rm`). */
const canMountTmpfs = spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=1m none /mnt'], { stdio: 'ignore' }).status === 0;

describe('FsObjectStore on a full or limited file system', () => {
  it.skipIf(!canMountTmpfs)('a put that fills the disk fails with `full` and leaves no partial file (real ENOSPC, 1 MiB tmpfs)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'regate-full-'));
    try {
      const script = join(import.meta.dirname, '..', 'helpers', 'fs-full-put.ts');
      const r = spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=1m none "$1" && exec "$2" "$3" "$1"', 'sh', dir, process.execPath, script], {
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ kind: 'full', tmp: [], tooBig: null, fits: true });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('maps ENAMETOOLONG to name_too_long and ENOSPC / EDQUOT to full', () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    expect(storageError(err('ENAMETOOLONG'), 'Put').kind).toBe('name_too_long');
    expect(storageError(err('ENOSPC'), 'Put').kind).toBe('full');
    expect(storageError(err('EDQUOT'), 'Put').kind).toBe('full');
  });
});

describe('FsObjectStore temp sweep', () => {
  const HOUR = 3600_000;

  it('removes temp files nobody touched for the given age, keeps younger ones', async () => {
    const { root, store, cleanup } = await makeFs();
    try {
      await mkdir(join(root, '.regate-tmp'), { recursive: true });
      await writeFile(join(root, '.regate-tmp', 'left-by-a-crash'), 'partial');
      await writeFile(join(root, '.regate-tmp', 'another-process-writing'), 'partial');
      await store.put('kept', streamOf(text('object')));
      const now = Date.now();
      // Only the age counts: a file touched 30 minutes ago is spared by a one-hour sweep, removed by a shorter one.
      expect(await store.sweepTemp(HOUR, now + 30 * 60_000)).toBe(0);
      expect((await readdir(join(root, '.regate-tmp'))).sort()).toEqual(['another-process-writing', 'left-by-a-crash']);
      expect(await store.sweepTemp(HOUR, now + HOUR + 1000)).toBe(2);
      expect(await readdir(join(root, '.regate-tmp'))).toEqual([]);
      expect((await store.head('kept'))?.size).toBe(6);
    } finally {
      await cleanup();
    }
  });

  it('never removes the temp file of a put of this store in flight, however old', async () => {
    const { root, store, cleanup } = await makeFs();
    try {
      // The body sends 10 bytes, then waits until `finish` is called: the put is in flight meanwhile.
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      let pulls = 0;
      let pulledTwice!: () => void;
      const secondPull = new Promise<void>((resolve) => (pulledTwice = resolve));
      const body = new ReadableStream<Uint8Array>(
        {
          async pull(c) {
            if (pulls++ === 0) return c.enqueue(pattern(10, 1));
            pulledTwice();
            await finished;
            c.close();
          },
        },
        { highWaterMark: 0 },
      );
      const putting = store.put('slow', body);
      // The body is read only once the temp file is open: from its second pull on, the file exists.
      await secondPull;
      expect(pulls).toBe(2);
      const [name] = await readdir(join(root, '.regate-tmp'));
      expect(name).toBeDefined();
      const past = new Date(Date.now() - 2 * HOUR);
      await utimes(join(root, '.regate-tmp', name!), past, past);
      expect(await store.sweepTemp(0, Date.now() + 10 * HOUR)).toBe(0);
      finish();
      expect((await putting).size).toBe(10);
      expect(await readdir(join(root, '.regate-tmp'))).toEqual([]);
    } finally {
      await cleanup();
    }
  });
});

describe('FsObjectStore ETags', () => {
  it('are the SHA-256 of the bytes, the same as the memory store, and survive a copy of the root', async () => {
    const { root, store, cleanup } = await makeFs();
    const copyRoot = `${root}-copy`;
    try {
      const bytes = pattern(150_000, 4);
      const meta = await store.put('m/v/model.bin', streamOf(bytes));
      const { createHash } = await import('node:crypto');
      expect(meta.etag).toBe(`"${createHash('sha256').update(bytes).digest('hex')}"`);
      const linked = await store.copy('m/v/model.bin', 'reg/model.bin');
      expect(linked.etag).toBe(meta.etag);
      spawnSync('cp', ['-a', root, copyRoot]);
      const restored = new FsObjectStore(copyRoot, { durable: false });
      expect((await restored.head('m/v/model.bin'))?.etag).toBe(meta.etag);
      const got = await restored.get('reg/model.bin', { ifMatch: meta.etag, range: { start: 5, end: 9 } });
      expect(Array.from(await readAll(got.body))).toEqual(Array.from(bytes.slice(5, 10)));
      // A copy without the sidecars (an old data directory, a tool that drops dot-directories) hashes the bytes.
      await rm(join(copyRoot, '.regate-etag'), { recursive: true });
      const rehashed = new FsObjectStore(copyRoot, { durable: false });
      expect((await rehashed.head('m/v/model.bin'))?.etag).toBe(meta.etag);
      expect((await rehashed.list('reg/')).objects.map((o) => o.etag)).toEqual([meta.etag]);
    } finally {
      await cleanup();
      await rm(copyRoot, { recursive: true, force: true });
    }
  });
});
