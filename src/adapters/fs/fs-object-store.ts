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
 *   the complete new one, and a failed or aborted upload leaves no object (the temp file is removed; on a full
 *   disk too, which fails with `full`). A `kill -9` mid-upload leaves its temp file: `sweepTemp` removes those
 *   no put of this store is writing and nobody touched for a while (fs-temp-area.ts; the Node entry runs it at start and
 *   periodically). `.regate-tmp` and `.regate-etag` are therefore not usable key prefixes.
 * - Names: the port's limits (255 bytes a segment, 1024 a key) are checked before any I/O, and the key tree
 *   rule (`a` and `a/b` never both) both before the body is read and where the file system says so (mkdir
 *   meeting a file, rename meeting a directory): `conflict` in either order.
 * - ETag: the SHA-256 of the bytes, hashed while `put` writes them, kept in a sidecar and in memory
 *   (fs-etags.ts), so it survives a copy of the data directory and changes whenever the bytes do.
 * - `copy` is a hard link (no bytes written): linked to a temp name, then renamed over the destination, so it
 *   is as atomic as a put. Source and copy are then one inode with the same bytes and ETag (the copy's
 *   lastModified is the source's). Bytes only change by a put, which gives that key a new inode and leaves
 *   every other link as it was. Where the filesystem cannot link (EXDEV, EPERM, ENOTSUP, EMLINK), it falls back
 *   to a byte copy.
 * - Reads open the file once, check `ifMatch` against that handle's `fstat`, and read from the same handle, so a
 *   concurrent replace can never mix versions. A read pinned to an ETag may reuse a handle opened for it
 *   (handle-cache.ts). The bytes take the form the consumer asks for (file-read.ts): read straight into the
 *   caller's buffers (what the Node entry uses), a read stream, or that stream behind `Readable.toWeb`.
 */
import { constants, type BigIntStats } from 'node:fs';
import { link, lstat, mkdir, open, rename, rm, rmdir, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { paginate } from '../../core/storage/listing.ts';
import { HandleCache, ownLease } from './handle-cache.ts';
import { errno, metaOf, placeError, storageError } from './fs-meta.ts';
import { ETAG_DIR, EtagIndex, quoteDigest } from './fs-etags.ts';
import { fileResult, READ_HIGH_WATER_MARK } from './file-read.ts';
import { TempArea, TMP_DIR } from './fs-temp-area.ts';
import { walkKeys } from './fs-walk.ts';

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
/** Bytes of an upload written between two overlapped datasyncs (see `put`). */
const SYNC_EVERY = 64 * 1024 * 1024;
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
  readonly #etags: EtagIndex;
  readonly #temp: TempArea;
  #openReads = 0;

  constructor(root: string, opts: FsObjectStoreOptions = {}) {
    this.root = root;
    this.#durable = opts.durable ?? true;
    this.#handles = new HandleCache(opts.handles);
    this.#temp = new TempArea(root);
    this.#etags = new EtagIndex(root, this.#temp.dir);
  }

  /**
   * Removes temp files left by puts and copies that died with their process (`kill -9`, a power cut): those no
   * put or copy of this store is using, untouched for `minAgeMs` before `now` (wall-clock ms). See fs-temp-area.ts.
   */
  sweepTemp(minAgeMs: number, now: number): Promise<number> {
    return this.#temp.sweep(minAgeMs, now);
  }

  /** Fails with `conflict` when `key` is a directory of other objects or lies under an object (before any bytes move). */
  async #checkTree(path: string): Promise<void> {
    try {
      if ((await lstat(path)).isDirectory()) throw new StorageError('conflict', 'The key is a directory of other objects.');
    } catch (err) {
      if (errno(err) === 'ENOENT') return;
      throw placeError(err, 'Put');
    }
  }

  /** The metadata of `key` from an open handle on its file. */
  async #metaOf(key: string, st: BigIntStats, fh: FileHandle): Promise<ObjectMeta> {
    return metaOf(key, st, await this.#etags.etagOf(key, st, fh));
  }

  /** The metadata of the file at `path` holding `key` (opens it only when its ETag is not known yet). */
  async #metaAt(key: string, path: string): Promise<ObjectMeta | null> {
    // One stat when the tag is known (the usual case), an open only to learn it.
    const st = await lstat(path, { bigint: true });
    if (!st.isFile()) return null;
    const known = this.#etags.known(st);
    if (known) return metaOf(key, st, known);
    const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const st = await fh.stat({ bigint: true });
      return st.isFile() ? await this.#metaOf(key, st, fh) : null;
    } finally {
      await fh.close().catch(() => {});
    }
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
    const top = key.split('/', 1)[0];
    if (top === TMP_DIR || top === ETAG_DIR) throw new StorageError('invalid', 'Reserved key prefix.');
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
      return await this.#metaAt(key, path);
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
      let etag: string;
      try {
        etag = await this.#etags.etagOf(key, st, fh);
      } catch (err) {
        await fh.close().catch(() => {});
        throw storageError(err, 'Read');
      }
      lease = opts.ifMatch !== undefined && opts.ifMatch === etag ? this.#handles.adopt(key, etag, fh, st) : ownLease(fh, st, etag);
    }
    const meta = metaOf(key, lease.st, lease.etag);
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
    let path: string;
    try {
      path = this.#path(key);
      // Before the body is read: a refused name should not cost an upload.
      await this.#checkTree(path);
    } catch (err) {
      await body.cancel(err).catch(() => {});
      throw err;
    }
    const { path: tmp, done: tmpDone } = this.#temp.take();
    const hash = createHash('sha256');
    let fh: FileHandle | undefined;
    let syncing: Promise<void> | undefined;
    try {
      await this.#temp.ensure();
      fh = await open(tmp, 'wx', 0o600);
      // A plain read/write loop: each write is on disk before more is pulled, so backpressure is exact. Request
      // bodies arrive in socket-sized chunks (~64 KiB); they are gathered into one 1 MiB buffer and written
      // together, a sixteenth of the writes (and thread-pool round trips) for one memcpy per byte.
      let written = 0;
      let unsynced = 0;
      const reader = body.getReader();
      const gather = Buffer.allocUnsafeSlow(WRITE_GATHER);
      let filled = 0;
      const flush = async () => {
        for (let off = 0; off < filled; ) off += (await fh!.write(gather, off, filled - off)).bytesWritten;
        unsynced += filled;
        filled = 0;
        // Write-back overlapped with the upload: one datasync in flight at a time (waiting for the previous one
        // bounds the dirty pages), so the sync before the answer covers only the tail, not the whole file.
        if (this.#durable && unsynced >= SYNC_EVERY) {
          await syncing;
          syncing = fh!.datasync();
          unsynced = 0;
        }
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
          // The ETag, while the bytes are in cache anyway (≈ 0.5 ms of CPU per MiB).
          hash.update(value);
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
      if (this.#durable) {
        await syncing;
        await fh.datasync();
      }
      // The handle names our inode, so a put racing us cannot swap in another file's metadata.
      const st = await fh.stat({ bigint: true });
      const etag = quoteDigest(hash);
      await this.#place(tmp, path);
      this.#handles.drop(key);
      await this.#etags.record(key, st, etag);
      return metaOf(key, st, etag);
    } catch (err) {
      await syncing?.catch(() => {});
      await rm(tmp, { force: true }).catch(() => {});
      throw storageError(err, 'Put');
    } finally {
      tmpDone();
      await fh?.close().catch(() => {});
    }
  }

  /** Renames a finished temp file onto `path`, making its directories; a file/directory clash is `conflict`. */
  async #place(tmp: string, path: string): Promise<void> {
    try {
      await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
      await rename(tmp, path);
    } catch (err) {
      throw placeError(err, 'Put');
    }
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    // Walk only the directory the prefix points into; the pure paginator does the rest.
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    if (base !== '' && base.split('/').some((s) => s === '' || s === '.' || s === '..')) return { objects: [], prefixes: [] };
    const metas: ObjectMeta[] = [];
    await walkKeys({ root: this.root, skip: [TMP_DIR, ETAG_DIR], metaAt: (key, path) => this.#metaAt(key, path) }, base, prefix, metas, opts.delimiter === '/');
    return paginate(metas, prefix, opts);
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
    await this.#etags.forget(key);
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
    const { path: tmp, done: tmpDone } = this.#temp.take();
    try {
      try {
        await this.#temp.ensure();
        await link(src, tmp);
      } catch (err) {
        if (LINK_REFUSED.has(errno(err) ?? '')) return await this.#copyBytes(srcKey, dstKey);
        throw storageError(err, 'Copy');
      }
      try {
        // link() does not follow a final symlink: accept only a regular file, as reads do with O_NOFOLLOW.
        const st = await lstat(tmp, { bigint: true });
        if (!st.isFile()) throw new StorageError('not_found', 'Not a file.');
        await this.#checkTree(dst);
        // The source's tag (one inode, the same bytes), before the link takes the destination's name.
        const fh = await open(tmp, constants.O_RDONLY | constants.O_NOFOLLOW);
        let etag: string;
        try {
          etag = await this.#etags.etagOf(srcKey, st, fh);
        } finally {
          await fh.close().catch(() => {});
        }
        await this.#place(tmp, dst);
        this.#handles.drop(dstKey);
        await this.#etags.record(dstKey, st, etag);
        return metaOf(dstKey, st, etag);
      } catch (err) {
        throw storageError(err, 'Copy');
      } finally {
        // Also after a rename that succeeded: renaming onto another link of the same inode (a copy onto itself,
        // or onto an earlier copy of the same object) succeeds and leaves the temp name in place.
        await rm(tmp, { force: true }).catch(() => {});
      }
    } finally {
      tmpDone();
    }
  }

  /** The fallback where hard links are refused: the bytes, through `put` (a new inode). */
  async #copyBytes(srcKey: string, dstKey: string): Promise<ObjectMeta> {
    const { fh } = await this.#openFile(srcKey);
    const stream = fh.createReadStream({ highWaterMark: READ_HIGH_WATER_MARK, autoClose: true });
    return this.put(dstKey, Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>);
  }
}
