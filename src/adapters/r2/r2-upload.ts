/**
 * @module r2-upload
 * Writes a web stream to R2. R2's `put` takes only streams of known length, so:
 * - a declared length (`contentLength`) up to R2's single-put limit: one `put` of the body through a
 *   known-length stream (workerd's `FixedLengthStream`), after a byte counter that turns a body of any other
 *   length into `invalid` (the known-length stream fails the put too; R2 then stores nothing);
 * - otherwise the first part-size bytes are buffered; a body that ends within them is one `put` of the bytes, a
 *   longer one a multipart upload of equal-size parts (R2 requires every part but the last to have the same size,
 *   at least 5 MiB), one part uploading while the next is read. Any failure or abort aborts the upload, so a failed
 *   put leaves no object and no parts.
 */
import { StorageError } from '../../core/storage/object-store.ts';
import { toR2StorageError } from './r2-errors.ts';
import type { R2BucketLike, R2MultipartUploadLike, R2ObjectLike, R2UploadedPartLike } from './r2-types.ts';

/** R2's smallest part (all but the last) and most parts; its largest single put (5 GiB − 5 MiB). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;
export const MAX_SINGLE_PUT = 5 * 1024 ** 3 - 5 * 1024 ** 2;
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

/** Makes `body` a stream R2 accepts as having exactly `length` bytes (it errors if the count differs). */
export type KnownLength = (body: ReadableStream<Uint8Array>, length: number) => ReadableStream<Uint8Array>;

interface FixedLengthStreamCtor {
  new (length: number): TransformStream<Uint8Array, Uint8Array>;
}

/** workerd's FixedLengthStream; undefined outside workerd (Node tests pass their own `KnownLength`). */
export function workerdKnownLength(): KnownLength | undefined {
  const FLS = (globalThis as { FixedLengthStream?: FixedLengthStreamCtor }).FixedLengthStream;
  return FLS ? (body, length) => body.pipeThrough(new FLS(length)) : undefined;
}

export interface UploadTarget {
  bucket: R2BucketLike;
  key: string;
  partSize: number;
  knownLength: KnownLength;
  contentLength?: number;
  signal?: AbortSignal;
}

function aborted(signal: AbortSignal): StorageError {
  return new StorageError('internal', 'Upload aborted.', { cause: signal.reason });
}

/**
 * Counts the bytes going through; a count other than `expected` errors the stream with `invalid`.
 * The latest chunk is held back until the next one (or the clean end) arrives: a body that fails right after its
 * last declared byte must not hand R2 a complete known-length body, which R2 would store (seen in workerd).
 */
function counted(body: ReadableStream<Uint8Array>, expected: number, signal: AbortSignal | undefined): { stream: ReadableStream<Uint8Array>; problem: () => StorageError | undefined } {
  let total = 0;
  let held: Uint8Array | undefined;
  let problem: StorageError | undefined;
  const stream = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, c) {
        if (signal?.aborted) return c.error((problem = aborted(signal)));
        total += chunk.byteLength;
        if (total > expected) return c.error((problem = new StorageError('invalid', `The body is longer than ${expected} bytes.`)));
        if (held) c.enqueue(held);
        held = chunk;
      },
      flush(c) {
        if (total !== expected) return c.error((problem = new StorageError('invalid', `The body had ${total} bytes, not ${expected}.`)));
        if (held) c.enqueue(held);
      },
    }),
    signal ? { signal } : {},
  );
  return { stream, problem: () => problem };
}

/** Cuts a byte stream into `size`-byte parts (the last may be shorter), checking the total against `expected`. */
class PartReader {
  readonly #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #done = false;
  #total = 0;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #size: number;
  readonly #expected: number | undefined;
  readonly #signal: AbortSignal | undefined;
  constructor(reader: ReadableStreamDefaultReader<Uint8Array>, size: number, expected: number | undefined, signal: AbortSignal | undefined) {
    this.#reader = reader;
    this.#size = size;
    this.#expected = expected;
    this.#signal = signal;
  }

  /** The next part, or null at the end. */
  async next(): Promise<Uint8Array | null> {
    while (!this.#done && this.#pendingBytes < this.#size) {
      if (this.#signal?.aborted) throw aborted(this.#signal);
      const { done, value } = await this.#reader.read();
      if (done) {
        this.#done = true;
        if (this.#expected !== undefined && this.#total !== this.#expected) {
          throw new StorageError('invalid', `The body had ${this.#total} bytes, not ${this.#expected}.`);
        }
        break;
      }
      this.#total += value.byteLength;
      if (this.#expected !== undefined && this.#total > this.#expected) throw new StorageError('invalid', `The body is longer than ${this.#expected} bytes.`);
      this.#pending.push(value);
      this.#pendingBytes += value.byteLength;
    }
    if (this.#pendingBytes === 0) return null;
    const n = Math.min(this.#size, this.#pendingBytes);
    const part = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const c = this.#pending[0]!;
      const take = Math.min(c.byteLength, n - at);
      part.set(take === c.byteLength ? c : c.subarray(0, take), at);
      at += take;
      if (take === c.byteLength) this.#pending.shift();
      else this.#pending[0] = c.subarray(take);
    }
    this.#pendingBytes -= n;
    return part;
  }

  get ended(): boolean {
    return this.#done && this.#pendingBytes === 0;
  }
}

/** A failure of the body stream itself (the client went away) is not a store failure: `internal`, never mapped. */
function uploadError(err: unknown, key: string, fromStore: boolean): StorageError {
  if (err instanceof StorageError) return err;
  return fromStore ? toR2StorageError(err, `PUT ${key}`) : new StorageError('internal', `Upload of ${key} failed.`, { cause: err });
}

/** Aborts a multipart upload, ignoring failures (without the caller's signal: it may be why we are here). */
export async function abortQuietly(upload: R2MultipartUploadLike): Promise<void> {
  await upload.abort().catch(() => {});
}

/** Uploads `body` to `t.key`; resolves once the object is visible. Throws StorageError, leaving nothing behind. */
export async function uploadStream(body: ReadableStream<Uint8Array>, t: UploadTarget): Promise<R2ObjectLike | null> {
  if (t.signal?.aborted) {
    await body.cancel(t.signal.reason).catch(() => {});
    throw aborted(t.signal);
  }
  if (t.contentLength !== undefined && t.contentLength <= MAX_SINGLE_PUT) {
    const { stream, problem } = counted(body, t.contentLength, t.signal);
    try {
      return await t.bucket.put(t.key, t.knownLength(stream, t.contentLength));
    } catch (err) {
      // A put that never took the stream (no known-length stream here) leaves it to us to release the body.
      if (!stream.locked) await stream.cancel(err).catch(() => {});
      // The counter saw the problem first (wrong length, abort); else the store or the body failed.
      throw problem() ?? uploadError(err, t.key, true);
    }
  }
  const reader = body.getReader();
  const parts = new PartReader(reader, t.partSize, t.contentLength, t.signal);
  let upload: R2MultipartUploadLike | undefined;
  let stage: 'body' | 'store' = 'body';
  try {
    const first = (await parts.next()) ?? new Uint8Array(0);
    if (parts.ended) {
      stage = 'store';
      return await t.bucket.put(t.key, first);
    }
    stage = 'store';
    upload = await t.bucket.createMultipartUpload(t.key);
    const done: R2UploadedPartLike[] = [];
    let part: Uint8Array | null = first;
    for (let n = 1; part; n++) {
      if (n > MAX_PARTS) throw new StorageError('full', `The body needs more than ${MAX_PARTS} parts of ${t.partSize} bytes.`);
      stage = 'store';
      const sending = upload.uploadPart(n, part);
      // Read the next part while this one uploads; a read error still waits for the upload to settle.
      const [up, next] = await Promise.allSettled([sending, parts.next()]);
      if (up.status === 'rejected') throw up.reason;
      stage = 'body';
      if (next.status === 'rejected') throw next.reason;
      done.push(up.value);
      part = next.value;
    }
    stage = 'store';
    if (t.signal?.aborted) throw aborted(t.signal);
    const obj = await upload.complete(done);
    upload = undefined;
    return obj;
  } catch (err) {
    await reader.cancel(err).catch(() => {});
    if (upload) await abortQuietly(upload);
    throw uploadError(err, t.key, stage === 'store');
  }
}
