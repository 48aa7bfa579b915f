/**
 * @module r2-upload
 * Writes a web stream to R2. R2's `put` takes only streams of known length, so:
 * - a declared length (`contentLength`) up to R2's single-put limit: one `put` of the body through a
 *   known-length stream (workerd's `FixedLengthStream`), after a byte counter that turns a body of any other
 *   length into `invalid` (the known-length stream fails the put too; R2 then stores nothing);
 * - otherwise the first part-size bytes are buffered; a body that ends within them is one `put` of the bytes, a
 *   longer one a multipart upload of equal-size parts (R2 requires every part but the last to have the same size,
 *   at least 5 MiB), one part uploading while the next is read (shared/pipelined-upload.ts, as for S3). Any failure or abort aborts the upload, so a failed
 *   put leaves no object and no parts.
 */
import { StorageError } from '../../core/storage/object-store.ts';
import { uploadAborted as aborted } from '../shared/part-reader.ts';
import { pipelinedUpload } from '../shared/pipelined-upload.ts';
import { toR2StorageError } from './r2-errors.ts';
import type { R2BucketLike, R2MultipartUploadLike, R2ObjectLike, R2UploadedPartLike } from './r2-types.ts';

/** R2's largest single put (5 GiB − 5 MiB). Its part limits are S3's: shared/multipart-plan.ts. */
export const MAX_SINGLE_PUT = 5 * 1024 ** 3 - 5 * 1024 ** 2;

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
  let upload: R2MultipartUploadLike | undefined;
  return pipelinedUpload<R2UploadedPartLike, R2ObjectLike | null>(body, t, {
    putWhole: (bytes) => t.bucket.put(t.key, bytes),
    create: async () => void (upload = await t.bucket.createMultipartUpload(t.key)),
    uploadPart: (n, bytes) => upload!.uploadPart(n, bytes),
    complete: async (parts) => {
      if (t.signal?.aborted) throw aborted(t.signal);
      return upload!.complete(parts);
    },
    abort: () => abortQuietly(upload!),
    failure: (err, stage) => uploadError(err, t.key, stage === 'store'),
  });
}
