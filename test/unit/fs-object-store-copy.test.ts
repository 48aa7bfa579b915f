/**
 * FsObjectStore.copy as a hard link: one inode for source and copy (no bytes written), atomic through a temp
 * name that never stays behind, a byte copy where the filesystem refuses links, and symlinks refused as reads
 * refuse them. The contract suite (test/contract) holds the behaviour every adapter shares.
 */
import { mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FsObjectStore } from '../../src/adapters/fs/fs-object-store.ts';
import { pattern, readAll, streamOf } from '../helpers/streams.ts';

const linkFault = vi.hoisted(() => ({ code: null as string | null }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const orig = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...orig,
    link: (existing: string, created: string) =>
      linkFault.code ? Promise.reject(Object.assign(new Error(`${linkFault.code}: link`), { code: linkFault.code })) : orig.link(existing, created),
  };
});

let root: string;
let store: FsObjectStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'regate-fs-copy-'));
  store = new FsObjectStore(root, { durable: false });
  linkFault.code = null;
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const file = (key: string) => join(root, ...key.split('/'));
const bytesOf = async (key: string) => readAll((await store.get(key)).body);

describe('FsObjectStore.copy', () => {
  it('links: the copy is the same inode, with the same ETag, and no temp name is left', async () => {
    const src = await store.put('uploads/p/model/w.bin', streamOf(pattern(300_000, 1)));
    const copy = await store.copy('uploads/p/model/w.bin', 'registry/s/models/model/w.bin');
    const [a, b] = await Promise.all([stat(file('uploads/p/model/w.bin')), stat(file('registry/s/models/model/w.bin'))]);
    expect(b.ino).toBe(a.ino);
    expect(b.nlink).toBe(2);
    expect(copy).toEqual({ ...src, key: 'registry/s/models/model/w.bin' });
    // Onto the same destination again and onto itself: rename() between links of one inode is a no-op that
    // keeps the temp name, which copy removes.
    await store.copy('uploads/p/model/w.bin', 'registry/s/models/model/w.bin');
    await store.copy('uploads/p/model/w.bin', 'uploads/p/model/w.bin');
    expect(await readdir(join(root, '.regate-tmp'))).toEqual([]);
    expect((await stat(file('uploads/p/model/w.bin'))).nlink).toBe(2);
    // Deleting the upload leaves the registered copy (one link fewer).
    await store.delete('uploads/p/model/w.bin');
    expect((await stat(file('registry/s/models/model/w.bin'))).nlink).toBe(1);
    expect(await store.head('registry/s/models/model/w.bin')).toEqual(copy);
  });

  it.each(['EXDEV', 'EPERM', 'ENOTSUP', 'EMLINK'])('falls back to a byte copy when link() fails with %s', async (code) => {
    await store.put('a/src', streamOf(pattern(100_000, 2)));
    linkFault.code = code;
    const copy = await store.copy('a/src', 'b/dst');
    expect((await stat(file('b/dst'))).ino).not.toBe((await stat(file('a/src'))).ino);
    expect(copy.size).toBe(100_000);
    expect(await bytesOf('b/dst')).toEqual(await bytesOf('a/src'));
    expect(await readdir(join(root, '.regate-tmp'))).toEqual([]);
  });

  it('any other link() failure is a storage error, not a fallback', async () => {
    await store.put('a/src', streamOf(pattern(10, 2)));
    linkFault.code = 'EIO';
    await expect(store.copy('a/src', 'b/dst')).rejects.toMatchObject({ kind: 'internal' });
    expect(await store.head('b/dst')).toBeNull();
  });

  it('refuses a symlink or a directory as the source, leaving nothing', async () => {
    await writeFile(join(root, 'outside'), 'secret');
    await store.put('a/real', streamOf(pattern(10, 2)));
    await symlink(join(root, 'outside'), file('a/link'));
    await expect(store.copy('a/link', 'b/dst')).rejects.toMatchObject({ kind: 'not_found' });
    await expect(store.copy('a', 'b/dst')).rejects.toMatchObject({ kind: 'not_found' });
    expect(await store.head('b/dst')).toBeNull();
    expect(await readdir(join(root, '.regate-tmp'))).toEqual([]);
  });
});
