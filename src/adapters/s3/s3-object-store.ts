/**
 * @module s3-object-store
 * The ObjectStore on S3 and S3-compatible servers (MinIO, R2, Ceph, moto), over @aws-sdk/client-s3.
 * ETags are S3's own, quoted as S3 sends them (`"md5"`, or `"md5-N"` for multipart uploads): strong, and they
 * change with the bytes. `lastModified` is whole seconds, since HEAD's Last-Modified has no finer precision and
 * every call must report the same value for the same object.
 *
 * S3 has no directories, so the key-tree rule (`a` and `a/b` never both exist) is checked before each write:
 * a HEAD of each parent key and a one-key LIST under `key/`. Two writers racing on `a` and `a/b` can both pass
 * that check; the store assumes, as the gateway does, that keys under one model version have one writer.
 */
import type { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { listLimit } from '../../core/storage/listing.ts';
import {
  assertKey,
  assertRange,
  readAborted,
  StorageError,
  type ByteRange,
  type GetOptions,
  type GetResult,
  type ListOptions,
  type ListResult,
  type ObjectMeta,
  type ObjectStore,
  type PutOptions,
} from '../../core/storage/object-store.ts';
import { checkBeforeCopy, checkBeforePut, type TreeProbe } from '../../core/storage/tree-guard.ts';
import { checkPartSize, copyParts, DEFAULT_PART_SIZE } from '../shared/multipart-plan.ts';
import { TakeOnce } from '../shared/take-once.ts';
import { toStorageError } from './s3-errors.ts';
import { abortStaleUploads } from './s3-multipart-sweep.ts';
import { uploadStream } from './s3-upload.ts';

/** Largest object a single CopyObject may copy; above it, UploadPartCopy. */
const MAX_COPY_OBJECT_BYTES = 5 * 1024 ** 3;
const DEFAULT_COPY_PART_SIZE = 512 * 1024 ** 2;

export interface S3ObjectStoreOptions {
  client: S3Client;
  bucket: string;
  /** Part size of multipart uploads (bytes, ≥ 5 MiB); default 8 MiB. A body up to this size is one PutObject. */
  partSize?: number;
  /** Objects above this size are copied part by part; default 5 GiB (S3's CopyObject limit). For tests. */
  copyThreshold?: number;
  /** Part size of part-wise copies (≥ 5 MiB); default 512 MiB (raised to fit 10 000 parts). */
  copyPartSize?: number;
}

/** Whole seconds, as HEAD's Last-Modified reports them (LIST and copy results may carry milliseconds). */
function seconds(d: Date | undefined): number {
  return d ? Math.floor(d.getTime() / 1000) * 1000 : 0;
}

/** `bytes 5-9/100` → {start 5, end 9, size 100} */
function parseContentRange(v: string | undefined): { start: number; end: number; size: number } | undefined {
  const m = v ? /^bytes (\d+)-(\d+)\/(\d+)$/.exec(v) : null;
  return m ? { start: Number(m[1]), end: Number(m[2]), size: Number(m[3]) } : undefined;
}

/** The CopySource header: bucket and URL-encoded key (the SDK does not encode it). */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;
}

/** The SDK's response body: a Node stream on Node (NodeHttpHandler), a web stream in Workers (FetchHttpHandler). */
type SdkBody = Readable | ReadableStream<Uint8Array>;

function isWeb(b: SdkBody): b is ReadableStream<Uint8Array> {
  return typeof (b as ReadableStream<Uint8Array>).getReader === 'function';
}

/** Drops a response body that will not be read, which frees its connection. */
function discard(b: SdkBody): void {
  if (!isWeb(b)) {
    if (!b.destroyed) b.destroy();
  } else if (!b.locked) void b.cancel().catch(() => {});
}

type ResultFields = { meta: ObjectMeta; length: number; range?: ByteRange };

function s3Result(fields: ResultFields, stream: SdkBody, signal?: AbortSignal): GetResult {
  return isWeb(stream) ? webResult(fields, stream, signal) : nodeResult(fields, stream, signal);
}

/**
 * In Workers: `body` is the response's web stream (through a pipe that `signal` aborts, which cancels the
 * response); there is no Node form.
 */
function webResult(fields: ResultFields, web: ReadableStream<Uint8Array>, signal?: AbortSignal): GetResult {
  const forms = new TakeOnce();
  return {
    ...fields,
    get body() {
      return forms.body(() => (signal ? web.pipeThrough(new TransformStream<Uint8Array, Uint8Array>(), { signal }) : web));
    },
    release: async () => {
      const was = forms.release();
      if (was === 'released') return;
      const body = was === 'body' ? forms.webBody : web;
      if (body && !body.locked) await body.cancel().catch(() => {});
    },
  };
}

/** On Node: `nodeStream()` hands the response over as is, `body` wraps it once. */
function nodeResult(fields: ResultFields, stream: Readable, signal?: AbortSignal): GetResult {
  const forms = new TakeOnce();
  if (signal) {
    const onAbort = () => stream.destroy(readAborted(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    stream.once('close', () => signal.removeEventListener('abort', onAbort));
  }
  return {
    ...fields,
    get body() {
      return forms.body(() => stream);
    },
    nodeStream: () => forms.take('nodeStream', () => stream),
    release: async () => {
      const was = forms.release();
      if (was === 'released') return;
      const body = forms.webBody;
      if (was === 'body' && body && !body.locked) {
        await body.cancel().catch(() => {});
        return;
      }
      // Destroying the response frees the socket (it is not reused: the rest of the body was never read).
      if (!stream.destroyed) stream.destroy();
    },
  };
}

export class S3ObjectStore implements ObjectStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #partSize: number;
  readonly #copyThreshold: number;
  readonly #copyPartSize: number;
  /** Multipart uploads (this store's puts and part-wise copies) open now: never swept. */
  readonly #inFlight = new Set<string>();

  constructor(opts: S3ObjectStoreOptions) {
    this.#client = opts.client;
    this.#bucket = opts.bucket;
    this.#partSize = checkPartSize('partSize', opts.partSize ?? DEFAULT_PART_SIZE);
    this.#copyThreshold = opts.copyThreshold ?? MAX_COPY_OBJECT_BYTES;
    this.#copyPartSize = checkPartSize('copyPartSize', opts.copyPartSize ?? DEFAULT_COPY_PART_SIZE);
  }

  async head(key: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectMeta | null> {
    assertKey(key);
    return this.#head(key, opts.signal);
  }

  async #head(key: string, signal?: AbortSignal): Promise<ObjectMeta | null> {
    try {
      const r = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }), signal ? { abortSignal: signal } : {});
      return { key, size: r.ContentLength ?? 0, etag: r.ETag!, lastModified: seconds(r.LastModified) };
    } catch (err) {
      const e = toStorageError(err, `HEAD ${key}`);
      if (e.kind === 'not_found') return null;
      throw e;
    }
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    assertKey(key);
    const { signal, range, ifMatch } = opts;
    if (signal?.aborted) throw readAborted(signal);
    if (range) assertRange(range);
    if (ifMatch !== undefined && !/^"[^"]*"$/.test(ifMatch)) {
      // A weak or malformed tag never matches strongly; S3 would compare it loosely, so answer here.
      if (!(await this.#head(key, signal))) throw new StorageError('not_found', `No object ${key}.`);
      throw new StorageError('precondition_failed', `ETag of ${key} does not match.`);
    }
    let r;
    try {
      r = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
          ...(ifMatch !== undefined ? { IfMatch: ifMatch } : {}),
        }),
        signal ? { abortSignal: signal } : {},
      );
    } catch (err) {
      throw toStorageError(err, `GET ${key}`);
    }
    const stream = r.Body as SdkBody;
    // Every answer is described as S3 sent it, never as asked: the caller compares it with what it asked
    // (range-and-signing P11: status, Content-Range, Content-Length, ETag) before relaying a byte. What
    // cannot be described (a Content-Range that does not parse, e.g. `bytes 0-9/*`) is refused here.
    const cr = parseContentRange(r.ContentRange);
    if (r.ContentRange !== undefined && (!cr || cr.end < cr.start || cr.end >= cr.size)) {
      discard(stream);
      throw new StorageError('internal', `S3 GET ${key}: unusable Content-Range ${JSON.stringify(r.ContentRange)}.`);
    }
    // No Content-Length (a chunked answer) is reported as -1: it matches no expected length.
    const length = r.ContentLength ?? -1;
    const size = cr?.size ?? length;
    const meta: ObjectMeta = { key, size, etag: r.ETag ?? '', lastModified: seconds(r.LastModified) };
    let served: ByteRange | undefined;
    // A partial answer to a whole-object read is reported as the range it is, so the caller refuses it.
    if (!range && cr) served = { start: cr.start, end: cr.end };
    if (range) {
      if (cr) served = { start: cr.start, end: cr.end };
      else if (length < 0) {
        discard(stream);
        throw new StorageError('internal', `S3 GET ${key}: a ranged answer without Content-Range or Content-Length.`);
      } else if (range.start >= size) {
        // A server that ignores ranges on an empty object (S3 answers 416): same answer as every other store.
        discard(stream);
        throw new StorageError('invalid', `Range starts at ${range.start}, past the object's ${size} bytes.`);
      } else served = { start: range.start, end: Math.min(range.end, size - 1) };
      if (!cr && (served.start !== 0 || served.end !== size - 1)) {
        discard(stream);
        throw new StorageError('internal', `S3 GET ${key}: the server ignored the Range header.`);
      }
    }
    return s3Result({ meta, length, ...(served ? { range: served } : {}) }, stream, signal);
  }

  /** The key-tree checks' questions (tree-guard.ts), asked of the bucket under `signal`. */
  #probe(signal?: AbortSignal): TreeProbe {
    return {
      head: (key) => this.#head(key, signal),
      anyUnder: async (prefix) => {
        try {
          const r = await this.#client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, MaxKeys: 1 }), signal ? { abortSignal: signal } : {});
          return (r.KeyCount ?? r.Contents?.length ?? 0) > 0;
        } catch (err) {
          throw toStorageError(err, `LIST ${prefix}`);
        }
      },
    };
  }

  async put(key: string, body: ReadableStream<Uint8Array>, opts: PutOptions = {}): Promise<ObjectMeta> {
    await checkBeforePut(key, body, this.#probe(opts.signal));
    await uploadStream(body, {
      client: this.#client,
      bucket: this.#bucket,
      key,
      partSize: this.#partSize,
      inFlight: this.#inFlight,
      ...(opts.contentLength !== undefined ? { contentLength: opts.contentLength } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return this.#metaAfterWrite(key);
  }

  /** PutObject and CopyObject do not report what HEAD does (size, second-precision date): ask once. */
  async #metaAfterWrite(key: string): Promise<ObjectMeta> {
    const meta = await this.#head(key);
    if (!meta) throw new StorageError('internal', `S3 PUT ${key}: the object is not visible after the write.`);
    return meta;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const limit = listLimit(opts.limit);
    let r;
    try {
      r = await this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket,
          ...(prefix ? { Prefix: prefix } : {}),
          ...(opts.delimiter ? { Delimiter: opts.delimiter } : {}),
          ...(opts.cursor !== undefined ? { ContinuationToken: opts.cursor } : {}),
          MaxKeys: limit,
        }),
      );
    } catch (err) {
      throw toStorageError(err, `LIST ${prefix}`);
    }
    const objects = (r.Contents ?? []).map((o) => ({ key: o.Key!, size: o.Size ?? 0, etag: o.ETag!, lastModified: seconds(o.LastModified) }));
    const prefixes = (r.CommonPrefixes ?? []).map((p) => p.Prefix!);
    return { objects, prefixes, ...(r.IsTruncated && r.NextContinuationToken ? { cursor: r.NextContinuationToken } : {}) };
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
    } catch (err) {
      const e = toStorageError(err, `DELETE ${key}`);
      // Some S3-compatible servers answer 404 for a missing key; deleting is idempotent either way.
      if (e.kind !== 'not_found') throw e;
    }
  }

  async copy(srcKey: string, dstKey: string): Promise<ObjectMeta> {
    const { src, same } = await checkBeforeCopy(srcKey, dstKey, this.#probe());
    // S3 refuses to copy an object onto itself without changing it; the result would be the same bytes anyway.
    if (same) return src;
    try {
      if (src.size > this.#copyThreshold) await this.#copyParts(src, dstKey);
      else {
        await this.#client.send(
          // CopySourceIfMatch: copy the object we checked, not one replaced since (then: precondition_failed).
          new CopyObjectCommand({ Bucket: this.#bucket, Key: dstKey, CopySource: copySource(this.#bucket, srcKey), CopySourceIfMatch: src.etag }),
        );
      }
    } catch (err) {
      throw toStorageError(err, `COPY ${srcKey} to ${dstKey}`);
    }
    return this.#metaAfterWrite(dstKey);
  }

  /** A copy above CopyObject's 5 GiB limit: a multipart upload of UploadPartCopy ranges, aborted on failure. */
  async #copyParts(src: ObjectMeta, dstKey: string): Promise<void> {
    const created = await this.#client.send(new CreateMultipartUploadCommand({ Bucket: this.#bucket, Key: dstKey }));
    const uploadId = created.UploadId!;
    this.#inFlight.add(uploadId);
    try {
      const ranges = copyParts(src.size, this.#copyPartSize);
      const parts: { ETag: string; PartNumber: number }[] = [];
      // A few parts at a time: each is a server-side copy, so the limit is the store's, not our bandwidth.
      for (let i = 0; i < ranges.length; i += 4) {
        const batch = await Promise.all(
          ranges.slice(i, i + 4).map(async ({ n, offset, length }) => {
            const r = await this.#client.send(
              new UploadPartCopyCommand({
                Bucket: this.#bucket,
                Key: dstKey,
                UploadId: uploadId,
                PartNumber: n,
                CopySource: copySource(this.#bucket, src.key),
                CopySourceIfMatch: src.etag,
                CopySourceRange: `bytes=${offset}-${offset + length - 1}`,
              }),
            );
            return { ETag: r.CopyPartResult!.ETag!, PartNumber: n };
          }),
        );
        parts.push(...batch);
      }
      await this.#client.send(new CompleteMultipartUploadCommand({ Bucket: this.#bucket, Key: dstKey, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: dstKey, UploadId: uploadId })).catch(() => {});
      throw err;
    } finally {
      this.#inFlight.delete(uploadId);
    }
  }

  /**
   * Aborts multipart uploads in the bucket untouched for `olderThanMs` (what a crash mid-upload leaves);
   * returns how many. The S3 counterpart of FsObjectStore.sweepTemp, run by the Node entry's sweeps. It covers
   * the whole bucket: give regate a bucket of its own.
   */
  sweepTemp(olderThanMs: number, nowMs: number): Promise<number> {
    return abortStaleUploads({ client: this.#client, bucket: this.#bucket, inFlight: this.#inFlight }, olderThanMs, nowMs);
  }
}
