/**
 * @module fs-full-put
 * Run inside a private mount namespace with a tiny tmpfs at argv[2] (test/contract/fs-object-store.test.ts):
 * puts objects until the file system is full and prints what the store answered and what it left behind.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FsObjectStore } from '../../src/adapters/fs/fs-object-store.ts';
import { StorageError } from '../../src/core/storage/object-store.ts';
import { pattern, streamOf } from './streams.ts';

const root = process.argv[2]!;
const store = new FsObjectStore(root);
const small = await store.put('fits.bin', streamOf(pattern(100_000, 1)));
let kind = 'resolved';
try {
  await store.put('too-big.bin', streamOf(pattern(2 * 1024 * 1024, 2)));
} catch (err) {
  kind = err instanceof StorageError ? err.kind : `other: ${String(err)}`;
}
const result = {
  kind,
  tmp: await readdir(join(root, '.regate-tmp')),
  tooBig: await store.head('too-big.bin'),
  fits: (await store.head('fits.bin'))?.etag === small.etag,
};
process.stdout.write(JSON.stringify(result));
