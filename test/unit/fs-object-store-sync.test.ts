/**
 * A durable FsObjectStore put syncs as it writes: a datasync every 64 MiB, one at a time, overlapped with the
 * upload, and a last one before the put resolves, so the sync the caller waits for covers only the tail (the
 * 1 GiB registration of bench figure 4 used to wait 3.4 s on one final sync). A small put syncs once.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../src/adapters/fs/fs-object-store.ts';
import { pattern, readAll } from '../helpers/streams.ts';

const MiB = 1024 * 1024;
let root: string;
let calls: number[];
let restore: () => void;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'regate-fs-sync-'));
  calls = [];
  // Count datasync calls on every FileHandle, with the file size when each started.
  const fh = await open(join(root, 'probe'), 'w');
  const proto = Object.getPrototypeOf(fh) as { datasync(this: { stat(): Promise<{ size: number }> }): Promise<void> };
  await fh.close();
  const orig = proto.datasync;
  proto.datasync = async function (this: { stat(): Promise<{ size: number }> }) {
    calls.push((await this.stat()).size);
    return orig.call(this);
  };
  restore = () => void (proto.datasync = orig);
});

afterEach(async () => {
  restore();
  await rm(root, { recursive: true, force: true });
});

/** A body of `bytes` bytes in 64 KiB chunks, as a socket delivers an upload. */
function body(bytes: number): ReadableStream<Uint8Array> {
  const all = pattern(bytes);
  let off = 0;
  return new ReadableStream({
    pull(c) {
      if (off >= bytes) return c.close();
      const n = Math.min(64 * 1024, bytes - off);
      c.enqueue(all.subarray(off, off + n));
      off += n;
    },
  });
}

describe('FsObjectStore put: write-back overlapped with the upload', () => {
  it('a 150 MiB put syncs at 64 and 128 MiB while writing, then once more at the end; the bytes are intact', async () => {
    const store = new FsObjectStore(join(root, 's'));
    const size = 150 * MiB;
    await store.put('a/b.bin', body(size), { contentLength: size });
    expect(calls).toHaveLength(3);
    expect(calls[0]).toBeGreaterThanOrEqual(64 * MiB);
    expect(calls[0]).toBeLessThan(128 * MiB);
    expect(calls[2]).toBe(size);
    const got = await store.get('a/b.bin');
    expect(Buffer.compare(Buffer.from(await readAll(got.body)), Buffer.from(pattern(size)))).toBe(0);
  });

  it('a small put syncs once, at the end; a store that is not durable never syncs', async () => {
    await new FsObjectStore(join(root, 's')).put('x.bin', body(MiB), { contentLength: MiB });
    expect(calls).toEqual([MiB]);
    calls.length = 0;
    await new FsObjectStore(join(root, 't'), { durable: false }).put('x.bin', body(100 * MiB), { contentLength: 100 * MiB });
    expect(calls).toEqual([]);
  });
});
