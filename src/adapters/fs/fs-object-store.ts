/**
 * @module fs-object-store
 * ObjectStore over a local directory (the Node default). Object `a/b` is the file `<root>/a/b`.
 *
 * POSIX only (keys use `/` as the separator).
 *
 * - Keys are validated (`keyProblem`: no `..`, no absolute path, no backslash, ≤ 1024 bytes) and then joined
 *   under the root, so a key can never name a file outside it. The final component is opened with
 *   O_NOFOLLOW; the root itself belongs to the gateway (no foreign symlinks inside it).
 * - `put` streams into `<root>/.regate-tmp/<random>` and renames over the target: readers see the old file or
 *   the complete new one, and a failed or aborted upload leaves no object (the temp file is removed).
 *   `.regate-tmp` is therefore not a usable key prefix.
 * - ETag: the quoted hex of (inode, size, mtime in ns) from a bigint `fstat`. Every put writes a new file (a
 *   new inode) and in-place edits are not part of this store's contract, so the tag changes whenever the bytes
 *   do. Reusing a freed inode with the same size and the same nanosecond mtime is the only collision.
 *   A content hash would need a second file per object and a full read on every put; this needs neither.
 * - `copy` is a hard link (no bytes written): linked to a temp name, then renamed over the destination, so it
 *   is as atomic as a put. Source and copy are then one inode, so they share size, mtime and ETag (the copy's
 *   lastModified is the source's). That is still a strong ETag: bytes only change by a put, which gives that
 *   key a new inode and a new tag and leaves every other link, and its tag, as it was. Where the filesystem
 *   cannot link (EXDEV, EPERM, ENOTSUP, EMLINK), it falls back to a byte copy, a new inode with its own tag.
 * - Reads open the file once, check `ifMatch` against that handle's `fstat`, and read from the same handle, so a
 *   concurrent replace can never mix versions. A read pinned to an ETag may reuse a handle opened for it
 *   (handle-cache.ts). The bytes take the form the consumer asks for (file-read.ts): read straight into the
 *   caller's buffers (what the Node entry uses), a read stream, or that stream behind `Readable.toWeb`.
 */
import { constants, type BigIntStats } from 'node:fs';
import { link, lstat, mkdir, open, readdir, rename, rm, rmdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { paginate } from '../../core/storage/listing.ts';
import { HandleCache, ownLease } from './handle-cache.ts';
import { etagOf, errno, metaOf, storageError } from './fs-meta.ts';
import { fileResult, READ_HIGH_WATER_MARK } from './file-read.ts';

export { READ_HIGH_WATER_MARK };
import {
  assertKey,
  clampRange,
  StorageError,
  type GetOptions,
  type GetResult,
  type ListOptions,
  type ListResult,
  type ObjectMeta,
  type ObjectStore,
  type PutOptions,
  webGetResult,
} from '../../core/storage/object-store.ts';

/** Upload bytes are written in pieces of this size (see `put`). */
const WRITE_GATHER = 1024 * 1024;
const TMP_DIR = '.regate-tmp';
/** errno values of a filesystem (or a source) that cannot be hard-linked: `copy` then copies the bytes. */
const LINK_REFUSED = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK']);

export interface FsObjectStoreOptions {
  /** fsync each object before it becomes visible (default true; tests on tmpfs may turn it off). */
  durable?: boolean;
  /** Bounds of the read-handle cache (handle-cache.ts). */
  handles?: { max?: number; idleMs?: number };
}

export class FsObjectStore implements ObjectStore {
  readonly root: string;
  readonly #durable: boolean;
  readonly #handles: HandleCache;
  #openReads = 0;

  constructor(root: string, opts: FsObjectStoreOptions = {}) {
    this.root = root;
    this.#durable = opts.durable ?? true;
    this.#handles = new HandleCache(opts.handles);
  }

  /** Read handles kept open for reuse (handle-cache.ts), in use or idle. */
  get cachedHandles(): number {
    return this.#handles.size;
  }

  /** Closes the read handles kept for reuse that no read is using. */
  closeIdleHandles(): void {
    this.#handles.closeIdle();
  }

  /** File handles currently held by reads, whatever form their bytes take (for leak tests). */
  get openReads(): number {
    return this.#openReads;
  }

  #path(key: string): string {
    assertKey(key);
    if (key === TMP_DIR || key.startsWith(`${TMP_DIR}/`)) throw new StorageError('invalid', 'Reserved key prefix.');
    return join(this.root, ...key.split('/'));
  }

  async #openFile(key: string): Promise<{ fh: FileHandle; st: BigIntStats }> {
    const path = this.#path(key);
    let fh: FileHandle;
    try {
      fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      throw storageError(err, 'Open');
    }
    try {
      const st = await fh.stat({ bigint: true });
      if (!st.isFile()) throw new StorageError('not_found', 'Not a file.');
      return { fh, st };
    } catch (err) {
      await fh.close().catch(() => {});
      throw storageError(err, 'Stat');
    }
  }

  async head(key: string): Promise<ObjectMeta | null> {
    const path = this.#path(key);
    try {
      const st = await stat(path, { bigint: true });
      return st.isFile() ? metaOf(key, st) : null;
    } catch (err) {
      const e = storageError(err, 'Head');
      if (e.kind === 'not_found') return null;
      throw e;
    }
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    if (opts.signal?.aborted) throw new StorageError('internal', 'Read aborted.', { cause: opts.signal.reason });
    // A read pinned to an ETag may reuse a handle opened for that ETag (handle-cache.ts says why that is safe).
    let lease = opts.ifMatch === undefined ? undefined : this.#handles.acquire(key, opts.ifMatch);
    if (!lease) {
      const { fh, st } = await this.#openFile(key);
      const etag = etagOf(st);
      lease = opts.ifMatch !== undefined && opts.ifMatch === etag ? this.#handles.adopt(key, etag, fh, st) : ownLease(fh, st);
    }
    const meta = metaOf(key, lease.st);
    let range;
    try {
      if (opts.ifMatch !== undefined && opts.ifMatch !== meta.etag) {
        throw new StorageError('precondition_failed', 'ETag does not match.');
      }
      range = opts.range ? clampRange(opts.range, meta.size) : undefined;
    } catch (err) {
      await lease.release();
      throw err;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? meta.size - 1;
    const length = end - start + 1;
    if (length === 0) {
      await lease.release();
      return webGetResult({ meta, length }, () => new ReadableStream<Uint8Array>({ start: (c) => c.close() }));
    }
    // The read stays counted until the bytes are read, given up or released, whichever form they take.
    this.#openReads++;
    return fileResult({ meta, length, ...(range ? { range } : {}) }, lease, start, end, opts.signal, () => this.#openReads--);
  }

  async put(key: string, body: ReadableStream<Uint8Array>, opts: PutOptions = {}): Promise<ObjectMeta> {
    const path = this.#path(key);
    const tmpDir = join(this.root, TMP_DIR);
    const tmp = join(tmpDir, randomBytes(12).toString('hex'));
    let fh: FileHandle | undefined;
    try {
      await mkdir(tmpDir, { recursive: true, mode: 0o700 });
      fh = await open(tmp, 'wx', 0o600);
      // A plain read/write loop: each write is on disk before more is pulled, so backpressure is exact. Request
      // bodies arrive in socket-sized chunks (~64 KiB); they are gathered into one 1 MiB buffer and written
      // together, a sixteenth of the writes (and thread-pool round trips) for one memcpy per byte.
      let written = 0;
      const reader = body.getReader();
      const gather = Buffer.allocUnsafeSlow(WRITE_GATHER);
      let filled = 0;
      const flush = async () => {
        for (let off = 0; off < filled; ) off += (await fh!.write(gather, off, filled - off)).bytesWritten;
        filled = 0;
      };
      try {
        for (;;) {
          if (opts.signal?.aborted) throw new StorageError('internal', 'Upload aborted.', { cause: opts.signal.reason });
          const { done, value } = await reader.read();
          if (done) break;
          written += value.byteLength;
          if (opts.contentLength !== undefined && written > opts.contentLength) {
            throw new StorageError('invalid', `Upload is longer than ${opts.contentLength} bytes.`);
          }
          for (let off = 0; off < value.byteLength; ) {
            const n = Math.min(value.byteLength - off, WRITE_GATHER - filled);
            gather.set(value.subarray(off, off + n), filled);
            filled += n;
            off += n;
            if (filled === WRITE_GATHER) await flush();
          }
        }
        await flush();
      } catch (err) {
        await reader.cancel(err).catch(() => {});
        throw err;
      }
      if (opts.contentLength !== undefined && written !== opts.contentLength) {
        throw new StorageError('invalid', `Upload had ${written} bytes, not ${opts.contentLength}.`);
      }
      if (this.#durable) await fh.datasync();
      await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
      await rename(tmp, path);
      this.#handles.drop(key);
      // The handle still names our inode, so a put racing us cannot swap in another file's metadata.
      const st = await fh.stat({ bigint: true });
      return metaOf(key, st);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      throw storageError(err, 'Put');
    } finally {
      await fh?.close().catch(() => {});
    }
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    // Walk only the directory the prefix points into; the pure paginator does the rest.
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    if (base !== '' && base.split('/').some((s) => s === '' || s === '.' || s === '..')) return { objects: [], prefixes: [] };
    const metas: ObjectMeta[] = [];
    await this.#walk(base, prefix, metas);
    return paginate(metas, prefix, opts);
  }

  async #walk(dirKey: string, prefix: string, out: ObjectMeta[]): Promise<void> {
    const dir = dirKey === '' ? this.root : join(this.root, ...dirKey.split('/'));
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return;
      throw storageError(err, 'List');
    }
    for (const ent of entries) {
      const key = dirKey === '' ? ent.name : `${dirKey}/${ent.name}`;
      if (dirKey === '' && ent.name === TMP_DIR) continue;
      if (ent.isDirectory()) {
        // Descend only where keys under this directory can still start with the prefix.
        const dirPrefix = `${key}/`;
        if (dirPrefix.startsWith(prefix) || prefix.startsWith(dirPrefix)) await this.#walk(key, prefix, out);
      } else if (ent.isFile() && key.startsWith(prefix)) {
        try {
          out.push(metaOf(key, await stat(join(dir, ent.name), { bigint: true })));
        } catch (err) {
          if (errno(err) !== 'ENOENT') throw storageError(err, 'List');
        }
      }
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    this.#handles.drop(key);
    try {
      await rm(path, { force: true });
    } catch (err) {
      const e = storageError(err, 'Delete');
      if (e.kind !== 'not_found') throw e;
    }
    // Remove directories the delete left empty, so a later put of a key named like one of them works.
    const segs = key.split('/');
    for (let i = segs.length - 1; i > 0; i--) {
      try {
        await rmdir(join(this.root, ...segs.slice(0, i)));
      } catch {
        break;
      }
    }
  }

  async copy(srcKey: string, dstKey: string): Promise<ObjectMeta> {
    const src = this.#path(srcKey);
    const dst = this.#path(dstKey);
    const tmpDir = join(this.root, TMP_DIR);
    const tmp = join(tmpDir, randomBytes(12).toString('hex'));
    try {
      await mkdir(tmpDir, { recursive: true, mode: 0o700 });
      await link(src, tmp);
    } catch (err) {
      if (LINK_REFUSED.has(errno(err) ?? '')) return this.#copyBytes(srcKey, dstKey);
      throw storageError(err, 'Copy');
    }
    try {
      // link() does not follow a final symlink: accept only a regular file, as reads do with O_NOFOLLOW.
      const st = await lstat(tmp, { bigint: true });
      if (!st.isFile()) throw new StorageError('not_found', 'Not a file.');
      await mkdir(join(dst, '..'), { recursive: true, mode: 0o700 });
      await rename(tmp, dst);
      this.#handles.drop(dstKey);
      return metaOf(dstKey, st);
    } catch (err) {
      throw storageError(err, 'Copy');
    } finally {
      // Also after a rename that succeeded: renaming onto another link of the same inode (a copy onto itself,
      // or onto an earlier copy of the same object) succeeds and leaves the temp name in place.
      await rm(tmp, { force: true }).catch(() => {});
    }
  }

  /** The fallback where hard links are refused: the bytes, through `put` (a new inode). */
  async #copyBytes(srcKey: string, dstKey: string): Promise<ObjectMeta> {
    const { fh } = await this.#openFile(srcKey);
    const stream = fh.createReadStream({ highWaterMark: READ_HIGH_WATER_MARK, autoClose: true });
    return this.put(dstKey, Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>);
  }
}
