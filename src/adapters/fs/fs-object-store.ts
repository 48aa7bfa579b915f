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
 * - ETag: the quoted hex of (inode, size, mtime in ns) from a bigint `fstat`. Every put and copy writes a new
 *   file (a new inode) and in-place edits are not part of this store's contract, so the tag changes whenever
 *   the bytes do. Reusing a freed inode with the same size and the same nanosecond mtime is the only collision.
 *   A content hash would need a second file per object and a full read on every put; this needs neither.
 * - Reads open the file once, check `ifMatch` against that handle's `fstat`, and stream from the same handle
 *   (`createReadStream({start, end, highWaterMark: 1 MiB})`: performance-notes §2.1, worth 3–4× over 64 KiB),
 *   so a concurrent replace can never mix versions. Cancelling the web stream destroys the Node stream, which
 *   closes the handle.
 */
import { constants, type BigIntStats } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { paginate } from '../../core/storage/listing.ts';
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
} from '../../core/storage/object-store.ts';

export const READ_HIGH_WATER_MARK = 1024 * 1024;
const TMP_DIR = '.regate-tmp';

export interface FsObjectStoreOptions {
  /** fsync each object before it becomes visible (default true; tests on tmpfs may turn it off). */
  durable?: boolean;
}

function etagOf(st: BigIntStats): string {
  return `"${st.ino.toString(16)}-${st.size.toString(16)}-${st.mtimeNs.toString(16)}"`;
}

function metaOf(key: string, st: BigIntStats): ObjectMeta {
  return { key, size: Number(st.size), etag: etagOf(st), lastModified: Number(st.mtimeMs) };
}

function errno(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

/** Maps a Node fs error to the port's kinds. */
function storageError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err;
  const code = errno(err);
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ELOOP') {
    return new StorageError('not_found', `${what}: no such object.`, { cause: err });
  }
  if (code === 'ENAMETOOLONG') return new StorageError('invalid', `${what}: name too long.`, { cause: err });
  if (code === 'EMFILE' || code === 'ENFILE' || code === 'EAGAIN' || code === 'ENOSPC' || code === 'EBUSY') {
    return new StorageError('unavailable', `${what}: ${code}.`, { cause: err, retryAfter: 1 });
  }
  return new StorageError('internal', `${what}: ${code ?? 'failed'}.`, { cause: err });
}

export class FsObjectStore implements ObjectStore {
  readonly root: string;
  readonly #durable: boolean;
  #openReads = 0;

  constructor(root: string, opts: FsObjectStoreOptions = {}) {
    this.root = root;
    this.#durable = opts.durable ?? true;
  }

  /** File handles currently held by read streams (for leak tests). */
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
    const { fh, st } = await this.#openFile(key);
    const meta = metaOf(key, st);
    let range;
    try {
      if (opts.ifMatch !== undefined && opts.ifMatch !== meta.etag) {
        throw new StorageError('precondition_failed', 'ETag does not match.');
      }
      range = opts.range ? clampRange(opts.range, meta.size) : undefined;
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? meta.size - 1;
    const length = end - start + 1;
    if (length === 0) {
      await fh.close().catch(() => {});
      const empty = new ReadableStream<Uint8Array>({ start: (c) => c.close() });
      return { meta, body: empty, length };
    }
    const nodeStream = fh.createReadStream({
      start,
      end,
      highWaterMark: READ_HIGH_WATER_MARK,
      autoClose: true,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    this.#openReads++;
    nodeStream.once('close', () => this.#openReads--);
    const body = Readable.toWeb(nodeStream) as unknown as ReadableStream<Uint8Array>;
    return { meta, body, length, ...(range ? { range } : {}) };
  }

  async put(key: string, body: ReadableStream<Uint8Array>, opts: PutOptions = {}): Promise<ObjectMeta> {
    const path = this.#path(key);
    const tmpDir = join(this.root, TMP_DIR);
    const tmp = join(tmpDir, randomBytes(12).toString('hex'));
    let fh: FileHandle | undefined;
    try {
      await mkdir(tmpDir, { recursive: true, mode: 0o700 });
      fh = await open(tmp, 'wx', 0o600);
      // A plain read/write loop: each chunk is on disk before the next is pulled, so backpressure is exact.
      let written = 0;
      const reader = body.getReader();
      try {
        for (;;) {
          if (opts.signal?.aborted) throw new StorageError('internal', 'Upload aborted.', { cause: opts.signal.reason });
          const { done, value } = await reader.read();
          if (done) break;
          written += value.byteLength;
          if (opts.contentLength !== undefined && written > opts.contentLength) {
            throw new StorageError('invalid', `Upload is longer than ${opts.contentLength} bytes.`);
          }
          for (let off = 0; off < value.byteLength; ) off += (await fh.write(value, off)).bytesWritten;
        }
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
    this.#path(dstKey);
    const { fh } = await this.#openFile(srcKey);
    const stream = fh.createReadStream({ highWaterMark: READ_HIGH_WATER_MARK, autoClose: true });
    return this.put(dstKey, Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>);
  }
}
