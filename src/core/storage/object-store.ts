/**
 * @module object-store
 * The object-store port: the byte storage behind artifacts (S3, R2, a local directory, memory). Small on
 * purpose, with one contract suite (test/contract/object-store.contract.ts) that every adapter passes.
 *
 * Conventions every adapter keeps:
 * - Keys are canonical relative paths (see `keyProblem`): no empty, `.` or `..` segments, no leading or
 *   trailing `/`, no backslash or control characters (`invalid`); at most 255 UTF-8 bytes a segment (NAME_MAX
 *   of ext4, XFS, tmpfs and the S3-compatible file systems) and 1024 a key (the S3 key limit), else
 *   `name_too_long`, on every store, so a name one store takes is taken by all.
 * - Keys form a tree, as on a file system: a key may not equal a directory of another key (`a` and `a/b`
 *   cannot both exist). A put or copy that would break this fails with `conflict` and writes nothing.
 * - `ObjectMeta.etag` is a **strong** entity tag in its quoted HTTP form (`"…"`, never `W/`), so it can be sent
 *   as an `ETag` header as is, and it changes whenever the bytes change.
 * - `lastModified` is integer milliseconds since the epoch.
 * - Ranges are inclusive (`{start: 0, end: 0}` is the first byte), as in HTTP.
 * - Failures throw `StorageError` with a `kind`, so callers map them to HTTP statuses without parsing messages.
 *   Messages may hold keys or paths: never send them to a client.
 */

/** What a stored object is, without its bytes. */
export interface ObjectMeta {
  key: string;
  size: number;
  /** Strong ETag in quoted form, e.g. `"5d41402a"`. */
  etag: string;
  /** Milliseconds since the epoch. */
  lastModified: number;
}

/** An inclusive byte range: `start <= end`. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface GetOptions {
  /** Inclusive range. `end` past the last byte is clamped; `start` at or past the size fails with `invalid`. */
  range?: ByteRange;
  /** Fail with `precondition_failed` unless the object's ETag is exactly this (strong comparison). */
  ifMatch?: string;
  /** Aborting cancels the read; a pending `get` rejects and an open body errors. */
  signal?: AbortSignal;
}

/**
 * Bytes read into the caller's own buffers (a "bring your own buffer" read), one read at a time. A consumer that
 * reuses a few buffers allocates nothing per chunk, where a stream allocates a fresh buffer per read (page
 * faults, copies into cold memory, garbage collection): on Node that is the difference between a file pipe and
 * serving at nginx's speed with less memory (bench/memory/stream-1gib.ts).
 */
export interface ByteSource {
  /** Reads the next bytes into `into` (at most `into.byteLength`); resolves 0 at the end. */
  read(into: Uint8Array): Promise<number>;
  /** Stops reading and releases the handle; idempotent, never rejects. A read in progress may still settle. */
  close(): Promise<void>;
}

/**
 * An open read. Its bytes are taken **once**, in one of these forms, and only when asked for, so nobody pays for
 * a form that is not used:
 * - `body`, a web stream made on first access (a getter: do not spread a GetResult, that would make it);
 * - `byteSource()`, where the adapter can read into the caller's buffers (files);
 * - `nodeStream()`, where the adapter has one, the runtime's own stream (on Node a `node:stream` Readable).
 * A runtime entry writes the last two to its socket without a web stream in between (src/runtime/node-body.ts).
 * Whoever takes the bytes must read them to the end or give them up (cancel `body`, close the source, destroy
 * the Node stream, or call `release()`), so the adapter closes its file handle or socket. `release()` also works
 * when no form was taken (a result that is refused or arrives too late) and never makes a web stream.
 */
export interface GetResult {
  meta: ObjectMeta;
  /** The bytes as a web stream, made on first access and the same stream on every later access. */
  readonly body: ReadableStream<Uint8Array>;
  /** The bytes read into the caller's buffers, or undefined once another form was taken. */
  byteSource?: () => ByteSource | undefined;
  /** The bytes as the runtime's native stream, or undefined once another form was taken. */
  nodeStream?: () => unknown;
  /** Gives the bytes up without reading them (whichever form was taken, or none); idempotent, never throws. */
  release(reason?: unknown): Promise<void>;
  /** The range the body holds, present iff a range was served (the upstream's Content-Range). */
  range?: ByteRange;
  /** How many bytes the body announces (the upstream's Content-Length). */
  length: number;
}

/**
 * A GetResult over a web stream made only when `body` is first read (adapters without a native stream).
 * @example return webGetResult({ meta, length }, () => sliceStream(bytes, start, end))
 */
export function webGetResult(
  fields: { meta: ObjectMeta; length: number; range?: ByteRange },
  open: () => ReadableStream<Uint8Array>,
): GetResult {
  let body: ReadableStream<Uint8Array> | undefined;
  let released = false;
  return {
    ...fields,
    get body() {
      return (body ??= open());
    },
    async release(reason?: unknown) {
      if (released) return;
      released = true;
      // An untaken body holds nothing yet; a taken one is cancelled (a locked one belongs to its reader).
      if (body && !body.locked) await body.cancel(reason).catch(() => {});
    },
  };
}

export interface PutOptions {
  /** When given, a body of any other length fails the put (and leaves no object). */
  contentLength?: number;
  signal?: AbortSignal;
}

export interface ListOptions {
  /** Keys holding this after the prefix are rolled up into `prefixes` (S3 CommonPrefixes). */
  delimiter?: string;
  /** Opaque: the `cursor` of the previous page. */
  cursor?: string;
  /** Objects plus prefixes per page; 1–1000, default 1000. */
  limit?: number;
}

export interface ListResult {
  /** In UTF-8 byte order of the key. */
  objects: ObjectMeta[];
  prefixes: string[];
  /** Present when there may be more; pass it back as `cursor`. */
  cursor?: string;
}

/** The port. Every method may throw `StorageError`. */
export interface ObjectStore {
  /** Metadata, or null when there is no such object. */
  head(key: string, opts?: { signal?: AbortSignal }): Promise<ObjectMeta | null>;
  get(key: string, opts?: GetOptions): Promise<GetResult>;
  /** Atomic: readers see the old object or the complete new one; a failed or aborted put leaves no trace. */
  put(key: string, body: ReadableStream<Uint8Array>, opts?: PutOptions): Promise<ObjectMeta>;
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** Idempotent: deleting a missing key succeeds. */
  delete(key: string): Promise<void>;
  /** Fails with `not_found` when the source is missing. The copy may get a different ETag. */
  copy(srcKey: string, dstKey: string): Promise<ObjectMeta>;
}

/**
 * Why a storage call failed:
 * not_found → 404, precondition_failed → 412, unavailable (throttled, overloaded) → 503 + Retry-After,
 * timeout → 504, internal (anything else, including access denied for the gateway's own credentials) → 502,
 * invalid (a bad key or range: a bug in the caller) → 502 as well when it reaches a client.
 */
/**
 * `full`: no space left (disk or bucket quota); `name_too_long`: a key segment or key over the store's limit;
 * `conflict`: the key is a "directory" of another object or under one (`a` and `a/b` cannot both exist).
 */
export type StorageErrorKind = 'not_found' | 'precondition_failed' | 'unavailable' | 'timeout' | 'internal' | 'invalid' | 'full' | 'name_too_long' | 'conflict';

export class StorageError extends Error {
  readonly kind: StorageErrorKind;
  /** Seconds a throttled store asked us to wait (kind `unavailable`). */
  readonly retryAfter: number | undefined;
  constructor(kind: StorageErrorKind, message: string, opts: { cause?: unknown; retryAfter?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'StorageError';
    this.kind = kind;
    this.retryAfter = opts.retryAfter;
  }
}

/** The error of a read stopped by its signal: every store's, so an aborted read looks the same whatever the store. */
export function readAborted(signal: AbortSignal): StorageError {
  return new StorageError('internal', 'Read aborted.', { cause: signal.reason });
}

export const MAX_KEY_BYTES = 1024;
/** Longest key segment (UTF-8 bytes): NAME_MAX of the usual local file systems. */
export const MAX_SEGMENT_BYTES = 255;
const encoder = new TextEncoder();

/** Why `key` is over the name limits (1024 bytes, 255 a segment), or null. */
export function keyLengthProblem(key: string): string | null {
  // Cheap first: UTF-8 takes at most 3 bytes per UTF-16 unit, so short keys need no encoding.
  if (key.length * 3 <= MAX_SEGMENT_BYTES) return null;
  if (encoder.encode(key).length > MAX_KEY_BYTES) return `longer than ${MAX_KEY_BYTES} bytes`;
  for (const seg of key.split('/')) {
    if (seg.length * 3 > MAX_SEGMENT_BYTES && encoder.encode(seg).length > MAX_SEGMENT_BYTES) return `a segment longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return null;
}

/** Why `key` is not a valid object key, or null. @example keyProblem('a/../b') // 'dot segment' */
export function keyProblem(key: string): string | null {
  if (key.length === 0) return 'empty key';
  const tooLong = keyLengthProblem(key);
  if (tooLong) return tooLong;
  if (key.includes('\\')) return 'backslash';
  // C0, DEL and C1 controls, plus lone surrogates (which have no UTF-8 form).
  if (/[\x00-\x1f\x7f-\x9f]/.test(key)) return 'control character';
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(key)) return 'lone surrogate';
  if (key.startsWith('/')) return 'absolute';
  for (const seg of key.split('/')) {
    if (seg === '') return 'empty segment';
    if (seg === '.' || seg === '..') return 'dot segment';
  }
  return null;
}

/** Throws `StorageError('name_too_long')` for a key over the limits, `StorageError('invalid')` for any other problem. */
export function assertKey(key: string): void {
  const problem = keyProblem(key);
  if (!problem) return;
  if (problem === keyLengthProblem(key)) throw new StorageError('name_too_long', `Object key ${problem}.`);
  throw new StorageError('invalid', `Invalid object key (${problem}).`);
}

/**
 * The keys that would conflict with `key` in a key tree: its directories (`a` and `a/b` for `a/b/c`).
 * A store checks these are not objects, and that no object lies under `key/`.
 * @example parentKeys('a/b/c') // ['a', 'a/b']
 */
export function parentKeys(key: string): string[] {
  const out: string[] = [];
  for (let at = key.indexOf('/'); at >= 0; at = key.indexOf('/', at + 1)) out.push(key.slice(0, at));
  return out;
}

/** Orders strings by UTF-8 bytes (= code point order), the order S3 lists keys in. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Refuses (`invalid`) a range that is no range at all, whatever the object: every store's first check of a get. */
export function assertRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new StorageError('invalid', `Invalid range ${start}-${end}.`);
  }
}

/** Checks a requested range against a size; returns the range clamped to the object. */
export function clampRange(range: ByteRange, size: number): ByteRange {
  assertRange(range);
  const { start, end } = range;
  if (start >= size) throw new StorageError('invalid', `Range starts at ${start}, past the object's ${size} bytes.`);
  return { start, end: Math.min(end, size - 1) };
}
