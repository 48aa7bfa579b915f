/**
 * @module r2-object-store
 * The ObjectStore on a Cloudflare R2 bucket binding (`env.ARTIFACTS` in the Worker). Web APIs only, so it runs
 * in workerd and, for tests, in Node over miniflare's proxy of the same binding.
 *
 * R2's quirks, absorbed here so the gateway sees what every other store gives it:
 * - ETags: R2 reports them unquoted and refuses a quoted one in `onlyIf`; the port's are quoted (`"md5"`, or
 *   `"md5-N"` after a multipart upload). `ifMatch` is unquoted for R2, and a weak or malformed tag never matches.
 * - A range that starts at or past the end is an opaque R2 error (10039, or an unspecified one on an empty
 *   object). After such an error the object is looked up once and the port's answer given: `not_found`,
 *   `precondition_failed`, or `invalid` for a start past the end. A range that merely ends past the end is
 *   clamped by R2 itself. A successful read costs one R2 call.
 * - No server-side copy: a copy streams the source (pinned to the ETag it had when the copy began) into a
 *   known-length put, or part by part into a multipart upload above `copyPartSize`.
 * - `put` needs a known-length stream: see r2-upload.ts.
 * - Names and the key tree as on every store: keys checked by `assertKey` (1024 bytes, 255 a segment, R2's own
 *   key limit being 1024), and before a write a HEAD of each parent key and a one-key list under `key/`. Two
 *   writers racing on `a` and `a/b` can both pass that check; keys under one model version have one writer.
 * `lastModified` is R2's `uploaded` in milliseconds, the same from head, get and list.
 */
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
import { toR2StorageError } from './r2-errors.ts';
import { abortQuietly, MAX_SINGLE_PUT, uploadStream, workerdKnownLength, type KnownLength } from './r2-upload.ts';
import type { R2BucketLike, R2MultipartUploadLike, R2ObjectBodyLike, R2ObjectLike, R2UploadedPartLike } from './r2-types.ts';

export interface R2ObjectStoreOptions {
  /** Part size of multipart uploads (bytes, ≥ 5 MiB); default 8 MiB. A body of unknown length up to it is one put. */
  partSize?: number;
  /** Objects above this size are copied part by part; default R2's single-put limit (5 GiB − 5 MiB). */
  copyThreshold?: number;
  /** Part size of part-wise copies (≥ 5 MiB); default 1 GiB (raised to fit 10 000 parts). */
  copyPartSize?: number;
  /**
   * Makes a stream of known length for `put`. Default: workerd's FixedLengthStream. Outside workerd (Node tests
   * over miniflare's proxy) the caller supplies one; without it a put fails.
   */
  knownLength?: KnownLength;
}

const DEFAULT_COPY_PART_SIZE = 1024 ** 3;

/** `"etag"` from R2's bare form. */
function quote(etag: string): string {
  return `"${etag}"`;
}

function metaOf(key: string, o: R2ObjectLike): ObjectMeta {
  return { key, size: o.size, etag: quote(o.etag), lastModified: o.uploaded.getTime() };
}

function hasBody(o: R2ObjectLike): o is R2ObjectBodyLike {
  return 'body' in o && (o as R2ObjectBodyLike).body !== undefined && (o as R2ObjectBodyLike).body !== null;
}

/** An identity transform that is native in workerd (no JS per chunk on the download path); the standard one elsewhere. */
function identity(): TransformStream<Uint8Array, Uint8Array> {
  const Native = (globalThis as { IdentityTransformStream?: new () => TransformStream<Uint8Array, Uint8Array> }).IdentityTransformStream;
  return Native ? new Native() : new TransformStream<Uint8Array, Uint8Array>();
}

/**
 * A GetResult over R2's body. Without a signal `body` is R2's own stream, untouched (a Worker can hand it to its
 * Response as is); with one, the body is piped through an identity stream that the signal errors.
 */
function r2Result(fields: { meta: ObjectMeta; length: number; range?: ByteRange }, source: ReadableStream<Uint8Array>, signal?: AbortSignal): GetResult {
  let body: ReadableStream<Uint8Array> | undefined;
  let released = false;
  return {
    ...fields,
    get body() {
      if (body) return body;
      if (!signal) return (body = source);
      // Aborting the pipe cancels R2's stream and errors this one with the signal's reason.
      return (body = source.pipeThrough(identity(), { signal }));
    },
    async release(reason?: unknown) {
      if (released) return;
      released = true;
      const open = body ?? source;
      if (!open.locked) await open.cancel(reason).catch(() => {});
    },
  };
}

export class R2ObjectStore implements ObjectStore {
  readonly #bucket: R2BucketLike;
  readonly #partSize: number;
  readonly #copyThreshold: number;
  readonly #copyPartSize: number;
  readonly #knownLength: KnownLength;

  constructor(bucket: R2BucketLike, opts: R2ObjectStoreOptions = {}) {
    this.#bucket = bucket;
    this.#partSize = checkPartSize('partSize', opts.partSize ?? DEFAULT_PART_SIZE);
    this.#copyThreshold = opts.copyThreshold ?? MAX_SINGLE_PUT;
    this.#copyPartSize = checkPartSize('copyPartSize', opts.copyPartSize ?? DEFAULT_COPY_PART_SIZE);
    this.#knownLength =
      opts.knownLength ??
      workerdKnownLength() ??
      (() => {
        throw new StorageError('internal', 'R2 put needs a known-length stream: FixedLengthStream (workerd) or the knownLength option.');
      });
  }

  async head(key: string): Promise<ObjectMeta | null> {
    assertKey(key);
    return this.#head(key);
  }

  async #head(key: string): Promise<ObjectMeta | null> {
    let o: R2ObjectLike | null;
    try {
      o = await this.#bucket.head(key);
    } catch (err) {
      const e = toR2StorageError(err, `HEAD ${key}`);
      if (e.kind === 'not_found') return null;
      throw e;
    }
    return o ? metaOf(key, o) : null;
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    assertKey(key);
    const { signal, range, ifMatch } = opts;
    if (signal?.aborted) throw readAborted(signal);
    if (range) assertRange(range);
    // R2 compares its bare ETag; only a strong quoted tag can match one, so anything else is answered here.
    const bare = ifMatch === undefined ? undefined : /^"([^"]*)"$/.exec(ifMatch)?.[1];
    if (ifMatch !== undefined && bare === undefined) {
      if (!(await this.#head(key))) throw new StorageError('not_found', `No object ${key}.`);
      throw new StorageError('precondition_failed', `ETag of ${key} does not match.`);
    }
    let o: R2ObjectBodyLike | R2ObjectLike | null;
    try {
      o = await this.#bucket.get(key, {
        ...(range ? { range: { offset: range.start, length: range.end - range.start + 1 } } : {}),
        ...(bare !== undefined ? { onlyIf: { etagMatches: bare } } : {}),
      });
    } catch (err) {
      throw await this.#explainGetError(err, key, range, ifMatch);
    }
    if (!o) throw new StorageError('not_found', `No object ${key}.`);
    // A failed condition answers the object's metadata without a body.
    if (!hasBody(o)) throw new StorageError('precondition_failed', `ETag of ${key} does not match.`);
    const meta = metaOf(key, o);
    if (signal?.aborted) {
      await o.body.cancel(signal.reason).catch(() => {});
      throw readAborted(signal);
    }
    if (!range) return r2Result({ meta, length: o.size }, o.body, signal);
    const r = o.range;
    // R2 reports the range it served (as asked or already clamped: no byte past the end exists either way); a
    // store that ignored ours is a failure, never the wrong bytes.
    const given = r && 'offset' in r ? r : undefined;
    const last = o.size - 1;
    const served = given ? { start: given.offset, end: Math.min(given.length === undefined ? last : given.offset + given.length - 1, last) } : undefined;
    const expected = { start: range.start, end: Math.min(range.end, last) };
    if (!served || served.start !== expected.start || served.end !== expected.end) {
      await o.body.cancel().catch(() => {});
      throw new StorageError('internal', `R2 GET ${key}: served ${JSON.stringify(r)} for ${range.start}-${range.end} of ${o.size} bytes.`);
    }
    return r2Result({ meta, length: served.end - served.start + 1, range: served }, o.body, signal);
  }

  /**
   * R2 fails a range starting past the end with an opaque error (10039, or no code at all on an empty object).
   * One HEAD tells the port's answer apart: missing, ETag mismatch, or a start past the end (`invalid`).
   */
  async #explainGetError(err: unknown, key: string, range: ByteRange | undefined, ifMatch: string | undefined): Promise<StorageError> {
    const mapped = toR2StorageError(err, `GET ${key}`);
    if (!range || (mapped.kind !== 'invalid' && mapped.kind !== 'internal')) return mapped;
    let meta: ObjectMeta | null;
    try {
      meta = await this.#head(key);
    } catch {
      return mapped;
    }
    if (!meta) return new StorageError('not_found', `No object ${key}.`);
    if (ifMatch !== undefined && ifMatch !== meta.etag) return new StorageError('precondition_failed', `ETag of ${key} does not match.`);
    if (range.start >= meta.size) return new StorageError('invalid', `Range starts at ${range.start}, past the object's ${meta.size} bytes.`, { cause: err });
    return mapped;
  }

  /** The key-tree checks' questions (tree-guard.ts), asked of the bucket. */
  readonly #probe: TreeProbe = {
    head: (key) => this.#head(key),
    anyUnder: async (prefix) => {
      try {
        return (await this.#bucket.list({ prefix, limit: 1 })).objects.length > 0;
      } catch (err) {
        throw toR2StorageError(err, `LIST ${prefix}`);
      }
    },
  };

  async put(key: string, body: ReadableStream<Uint8Array>, opts: PutOptions = {}): Promise<ObjectMeta> {
    await checkBeforePut(key, body, this.#probe);
    const written = await uploadStream(body, {
      bucket: this.#bucket,
      key,
      partSize: this.#partSize,
      knownLength: this.#knownLength,
      ...(opts.contentLength !== undefined ? { contentLength: opts.contentLength } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return this.#metaAfterWrite(key, written);
  }

  /** What a write reported, or (a proxy or a binding that reports nothing) one HEAD. */
  async #metaAfterWrite(key: string, written: R2ObjectLike | null): Promise<ObjectMeta> {
    if (written && typeof written.etag === 'string' && written.uploaded instanceof Date) return metaOf(key, written);
    const meta = await this.#head(key);
    if (!meta) throw new StorageError('internal', `R2 PUT ${key}: the object is not visible after the write.`);
    return meta;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const limit = listLimit(opts.limit);
    let r;
    try {
      r = await this.#bucket.list({
        ...(prefix ? { prefix } : {}),
        ...(opts.delimiter ? { delimiter: opts.delimiter } : {}),
        ...(opts.cursor !== undefined ? { cursor: opts.cursor } : {}),
        limit,
      });
    } catch (err) {
      throw toR2StorageError(err, `LIST ${prefix}`);
    }
    const objects = r.objects.map((o) => metaOf(o.key, o));
    return { objects, prefixes: [...r.delimitedPrefixes], ...(r.truncated && r.cursor ? { cursor: r.cursor } : {}) };
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    try {
      await this.#bucket.delete(key);
    } catch (err) {
      const e = toR2StorageError(err, `DELETE ${key}`);
      if (e.kind !== 'not_found') throw e;
    }
  }

  async copy(srcKey: string, dstKey: string): Promise<ObjectMeta> {
    const { src, same } = await checkBeforeCopy(srcKey, dstKey, this.#probe);
    if (same) return src;
    let written: R2ObjectLike | null;
    try {
      written = src.size > this.#copyThreshold ? await this.#copyParts(src, dstKey) : await this.#bucket.put(dstKey, this.#knownLength(await this.#read(src), src.size));
    } catch (err) {
      throw toR2StorageError(err, `COPY ${srcKey} to ${dstKey}`);
    }
    return this.#metaAfterWrite(dstKey, written);
  }

  /** The source's bytes (a range of them), pinned to the ETag the copy started from. */
  async #read(src: ObjectMeta, range?: { offset: number; length: number }): Promise<ReadableStream<Uint8Array>> {
    const o = await this.#bucket.get(src.key, { onlyIf: { etagMatches: src.etag.slice(1, -1) }, ...(range ? { range } : {}) });
    if (!o) throw new StorageError('not_found', `No object ${src.key}.`);
    if (!hasBody(o)) throw new StorageError('precondition_failed', `${src.key} changed while it was copied.`);
    return o.body;
  }

  /** A copy above the single-put limit: a multipart upload of ranged reads, one part at a time, aborted on failure. */
  async #copyParts(src: ObjectMeta, dstKey: string): Promise<R2ObjectLike> {
    const upload: R2MultipartUploadLike = await this.#bucket.createMultipartUpload(dstKey);
    try {
      const parts: R2UploadedPartLike[] = [];
      for (const { n, offset, length } of copyParts(src.size, this.#copyPartSize)) {
        parts.push(await upload.uploadPart(n, this.#knownLength(await this.#read(src, { offset, length }), length)));
      }
      return await upload.complete(parts);
    } catch (err) {
      await abortQuietly(upload);
      throw err;
    }
  }
}
