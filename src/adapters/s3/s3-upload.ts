/**
 * @module s3-upload
 * Writes a web stream of unknown length to S3 without holding it in memory: the first part-size bytes are
 * buffered; a body that ends within them is one PutObject, a longer one a multipart upload of fixed-size parts
 * (one part uploading while the next is read). S3 makes either visible atomically on success; on any failure
 * or abort the multipart upload is aborted, so a failed put leaves no object and no billed parts.
 * (`@aws-sdk/lib-storage` does the same with more machinery; this is the small subset the store needs.)
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
  type UploadPartCommandOutput,
} from '@aws-sdk/client-s3';
import { StorageError } from '../../core/storage/object-store.ts';
import { toStorageError } from './s3-errors.ts';

/** S3's smallest part (all but the last), and the most parts an upload may have. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

export interface UploadTarget {
  client: S3Client;
  bucket: string;
  key: string;
  partSize: number;
  contentLength?: number;
  signal?: AbortSignal;
  /** Holds the upload id while the multipart upload is open, so the stale-upload sweep leaves it alone. */
  inFlight?: Set<string>;
}

/** Cuts a byte stream into `size`-byte parts (the last may be shorter), checking the total against `expected`. */
class PartReader {
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #done = false;
  total = 0;
  readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly size: number;
  readonly expected: number | undefined;
  readonly signal: AbortSignal | undefined;
  constructor(reader: ReadableStreamDefaultReader<Uint8Array>, size: number, expected: number | undefined, signal: AbortSignal | undefined) {
    this.reader = reader;
    this.size = size;
    this.expected = expected;
    this.signal = signal;
  }

  /** The next part, or null at the end. */
  async next(): Promise<Uint8Array | null> {
    while (!this.#done && this.#pendingBytes < this.size) {
      if (this.signal?.aborted) throw new StorageError('internal', 'Upload aborted.', { cause: this.signal.reason });
      const { done, value } = await this.reader.read();
      if (done) {
        this.#done = true;
        if (this.expected !== undefined && this.total !== this.expected) {
          throw new StorageError('invalid', `The body had ${this.total} bytes, not ${this.expected}.`);
        }
        break;
      }
      this.total += value.byteLength;
      if (this.expected !== undefined && this.total > this.expected) {
        throw new StorageError('invalid', `The body is longer than ${this.expected} bytes.`);
      }
      this.#pending.push(value);
      this.#pendingBytes += value.byteLength;
    }
    if (this.#pendingBytes === 0) return null;
    const n = Math.min(this.size, this.#pendingBytes);
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

/** Uploads `body` to `t.key`; resolves once the object is visible. Throws StorageError, leaving nothing behind. */
export async function uploadStream(body: ReadableStream<Uint8Array>, t: UploadTarget): Promise<void> {
  const reader = body.getReader();
  const parts = new PartReader(reader, t.partSize, t.contentLength, t.signal);
  const sendOpts = t.signal ? { abortSignal: t.signal } : {};
  let uploadId: string | undefined;
  try {
    const first = (await parts.next()) ?? new Uint8Array(0);
    if (parts.ended) {
      await t.client.send(new PutObjectCommand({ Bucket: t.bucket, Key: t.key, Body: first, ContentLength: first.byteLength }), sendOpts);
      return;
    }
    const created = await t.client.send(new CreateMultipartUploadCommand({ Bucket: t.bucket, Key: t.key }), sendOpts);
    uploadId = created.UploadId!;
    t.inFlight?.add(uploadId);
    const done: { ETag: string; PartNumber: number }[] = [];
    let part: Uint8Array | null = first;
    for (let n = 1; part; n++) {
      if (n > MAX_PARTS) throw new StorageError('full', `The body needs more than ${MAX_PARTS} parts of ${t.partSize} bytes.`);
      const upload: Promise<UploadPartCommandOutput> = t.client.send(
        new UploadPartCommand({ Bucket: t.bucket, Key: t.key, UploadId: uploadId, PartNumber: n, Body: part, ContentLength: part.byteLength }),
        sendOpts,
      );
      // Read the next part while this one uploads; a read error still waits for the upload to settle.
      const [up, next]: [PromiseSettledResult<UploadPartCommandOutput>, PromiseSettledResult<Uint8Array | null>] = await Promise.allSettled([upload, parts.next()]);
      if (up.status === 'rejected') throw up.reason;
      if (next.status === 'rejected') throw next.reason;
      done.push({ ETag: up.value.ETag!, PartNumber: n });
      part = next.value;
    }
    await t.client.send(
      new CompleteMultipartUploadCommand({ Bucket: t.bucket, Key: t.key, UploadId: uploadId, MultipartUpload: { Parts: done } }),
      sendOpts,
    );
    t.inFlight?.delete(uploadId);
    uploadId = undefined;
  } catch (err) {
    await reader.cancel(err).catch(() => {});
    if (uploadId !== undefined) {
      // Without the caller's signal: it may be the reason we are here, and the parts must not stay billed.
      await t.client.send(new AbortMultipartUploadCommand({ Bucket: t.bucket, Key: t.key, UploadId: uploadId })).catch(() => {});
      t.inFlight?.delete(uploadId);
    }
    if (err instanceof StorageError) throw err;
    // A failure of the body stream itself (the client went away) is not a store failure.
    const fromStore = typeof err === 'object' && err !== null && '$metadata' in err;
    throw fromStore || (err as Error)?.name === 'TimeoutError' ? toStorageError(err, `PUT ${t.key}`) : new StorageError('internal', `Upload of ${t.key} failed.`, { cause: err });
  }
}
