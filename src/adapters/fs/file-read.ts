/**
 * @module file-read
 * The read path of the fs store: a byte range of an open file handed out in the form its consumer asks for
 * (read into the caller's buffers, a Node read stream, or a web stream), on a lease of the handle
 * (handle-cache.ts), so the handle closes, or goes back to the cache, exactly once.
 */
import { createReadStream, read as fsRead, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { StorageError, type ByteRange, type ByteSource, type GetResult, type ObjectMeta } from '../../core/storage/object-store.ts';
import type { Lease } from './handle-cache.ts';
import { storageError } from './fs-meta.ts';
import { TakeOnce } from '../shared/take-once.ts';

/** Read size of streams over a file (performance-notes §2.1: 1 MiB is worth 3–4× over 64 KiB). */
export const READ_HIGH_WATER_MARK = 1024 * 1024;

/** Reads up to this size are made synchronously (see FileRangeSource.read). */
const SYNC_READ_MAX = 16 * 1024;

/**
 * A byte range of an open file read into the caller's buffers (`FileHandle.read` at explicit positions, so
 * nothing is allocated per chunk). Reading the last byte, closing it, or aborting `signal` ends its lease on
 * the handle (handle-cache.ts); a read still running finishes first, later reads fail.
 */
class FileRangeSource implements ByteSource {
  readonly #lease: Lease;
  #pos: number;
  readonly #end: number; // exclusive
  readonly #signal: AbortSignal | undefined;
  readonly #onClosed: () => void;
  #closing: Promise<void> | undefined;
  readonly #onAbort = () => void this.close();

  constructor(lease: Lease, start: number, end: number, signal: AbortSignal | undefined, onClosed: () => void) {
    this.#lease = lease;
    this.#pos = start;
    this.#end = end + 1;
    this.#signal = signal;
    this.#onClosed = onClosed;
    if (signal?.aborted) void this.close();
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  async read(into: Uint8Array): Promise<number> {
    const n = Math.min(into.byteLength, this.#end - this.#pos);
    if (n <= 0) return 0;
    if (this.#closing) throw new StorageError('internal', 'Read after close.');
    let bytesRead: number;
    try {
      // A small read from the page cache takes microseconds; the thread-pool round trip of an async read costs
      // more than the read itself (1-byte ranges, small files). Large reads stay off the event loop.
      bytesRead = n <= SYNC_READ_MAX ? readSync(this.#lease.fh.fd, into, 0, n, this.#pos) : (await this.#lease.fh.read(into, 0, n, this.#pos)).bytesRead;
    } catch (err) {
      throw storageError(err, 'Read');
    }
    this.#pos += bytesRead;
    // The last byte is out: let the handle go at once (a later close() is a no-op).
    if (this.#pos >= this.#end) void this.close();
    return bytesRead;
  }

  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      this.#signal?.removeEventListener('abort', this.#onAbort);
      await this.#lease.release();
      this.#onClosed();
    })());
  }
}

/** The fs methods a read stream over a leased fd may use: reads, and a close that leaves the fd to the lease. */
const LEASED_FD = { read: fsRead, close: (_fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => cb(null) };

/**
 * A GetResult over an open file and a range of it. Each form is made only when taken: `byteSource()` reads
 * the handle directly, `nodeStream()` is a `createReadStream` over it, `body` that stream behind
 * `Readable.toWeb`. The first form taken wins; `release()` closes whatever holds the handle.
 */
export function fileResult(
  fields: { meta: ObjectMeta; length: number; range?: ByteRange },
  lease: Lease,
  start: number,
  end: number,
  signal: AbortSignal | undefined,
  onClosed: () => void,
): GetResult {
  const forms = new TakeOnce();
  let stream: Readable | undefined;
  let source: FileRangeSource | undefined;
  let closedOnce = false;
  const closed = () => {
    if (closedOnce) return;
    closedOnce = true;
    onClosed();
  };
  const openStream = () => {
    // The lease decides whether the handle closes (it may be cached for the next read of this ETag). The stream
    // reads the numeric fd, which the lease keeps open, and never closes it: a read stream closes its fd when it
    // is destroyed whatever autoClose says, hence the no-op close.
    const s = createReadStream('', {
      fd: lease.fh.fd,
      fs: LEASED_FD,
      start,
      end,
      highWaterMark: READ_HIGH_WATER_MARK,
      autoClose: false,
      ...(signal ? { signal } : {}),
    });
    // Without autoClose a stream read to its end emits 'end' but not 'close': release on whichever comes first.
    const done = () => void lease.release().finally(closed);
    s.once('end', done);
    s.once('close', done);
    return (stream = s);
  };
  return {
    ...fields,
    get body() {
      return forms.body(openStream);
    },
    nodeStream: () => forms.take('nodeStream', openStream),
    byteSource: () => forms.take('byteSource', () => (source = new FileRangeSource(lease, start, end, signal, closed))),
    release: async () => {
      if (forms.release() === 'released') return;
      if (source) return source.close();
      const s = stream;
      if (s) {
        if (s.closed) return;
        await new Promise<void>((resolve) => {
          s.once('close', () => resolve());
          s.destroy();
        });
        return;
      }
      await lease.release();
      closed();
    },
  };
}
