/**
 * @module memory-object-store
 * The in-memory ObjectStore twin for fast tests. ETags are the quoted SHA-256 of the bytes (a true content
 * hash); bodies are pull-based streams, made when first read, that hand out `chunkSize` slices only when the
 * reader asks, so tests can count how far ahead of the consumer a reader runs. No native stream: runtimes use `body`.
 */
import type { Clock } from '../../core/ports.ts';
import { systemClock } from '../../core/clock.ts';
import { paginate } from '../../core/storage/listing.ts';
import {
  assertKey,
  clampRange,
  parentKeys,
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

interface Entry {
  bytes: Uint8Array;
  meta: ObjectMeta;
}

export interface MemoryObjectStoreOptions {
  clock?: Clock;
  /** Slice size of the bodies `get` returns; default 64 KiB. */
  chunkSize?: number;
}

async function contentEtag(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return `"${hex}"`;
}

function abortError(signal: AbortSignal): StorageError {
  return new StorageError('internal', 'Read aborted.', { cause: signal.reason });
}

/** A readable over `bytes[start..end]` that produces a slice per pull and honours `signal`. */
function sliceStream(bytes: Uint8Array, start: number, end: number, chunkSize: number, signal?: AbortSignal) {
  let pos = start;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        signal?.addEventListener('abort', () => controller.error(abortError(signal)), { once: true });
      },
      pull(controller) {
        if (signal?.aborted) return controller.error(abortError(signal));
        if (pos > end) return controller.close();
        const stop = Math.min(end + 1, pos + chunkSize);
        // A copy, so a consumer that transfers or mutates the chunk cannot change the stored object.
        controller.enqueue(bytes.slice(pos, stop));
        pos = stop;
        if (pos > end) controller.close();
      },
    },
    { highWaterMark: 0 },
  );
}

export class MemoryObjectStore implements ObjectStore {
  readonly #objects = new Map<string, Entry>();
  /** Directory → number of objects below it, so the key-tree rule (`a` and `a/b` never both) costs a lookup. */
  readonly #dirs = new Map<string, number>();
  readonly #clock: Clock;
  readonly #chunkSize: number;

  constructor(opts: MemoryObjectStoreOptions = {}) {
    this.#clock = opts.clock ?? systemClock;
    this.#chunkSize = opts.chunkSize ?? 64 * 1024;
  }

  /** Test convenience: store bytes directly. */
  async putBytes(key: string, bytes: Uint8Array): Promise<ObjectMeta> {
    assertKey(key);
    this.#checkTree(key);
    const copy = bytes.slice();
    const meta = { key, size: copy.length, etag: await contentEtag(copy), lastModified: Math.floor(this.#clock.now()) };
    this.#set(key, { bytes: copy, meta });
    return { ...meta };
  }

  /** Refuses a key that is a directory of an object, or has an object as one of its directories. */
  #checkTree(key: string): void {
    if (this.#dirs.has(key) || parentKeys(key).some((p) => this.#objects.has(p))) {
      throw new StorageError('conflict', `${key} and another object would be a file and a directory.`);
    }
  }

  #set(key: string, e: Entry): void {
    if (!this.#objects.has(key)) for (const p of parentKeys(key)) this.#dirs.set(p, (this.#dirs.get(p) ?? 0) + 1);
    this.#objects.set(key, e);
  }

  async head(key: string): Promise<ObjectMeta | null> {
    assertKey(key);
    const e = this.#objects.get(key);
    return e ? { ...e.meta } : null;
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    assertKey(key);
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const e = this.#objects.get(key);
    if (!e) throw new StorageError('not_found', `No object ${key}.`);
    if (opts.ifMatch !== undefined && opts.ifMatch !== e.meta.etag) {
      throw new StorageError('precondition_failed', `ETag of ${key} does not match.`);
    }
    const range = opts.range ? clampRange(opts.range, e.meta.size) : undefined;
    const start = range?.start ?? 0;
    const end = range?.end ?? e.meta.size - 1;
    const { bytes } = e;
    const chunkSize = this.#chunkSize;
    return webGetResult({ meta: { ...e.meta }, length: end - start + 1, ...(range ? { range } : {}) }, () =>
      sliceStream(bytes, start, end, chunkSize, opts.signal),
    );
  }

  async put(key: string, body: ReadableStream<Uint8Array>, opts: PutOptions = {}): Promise<ObjectMeta> {
    assertKey(key);
    try {
      // Early, so a refused name does not read the body (checked again when the bytes are stored).
      this.#checkTree(key);
    } catch (err) {
      await body.cancel(err).catch(() => {});
      throw err;
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    const reader = body.getReader();
    try {
      for (;;) {
        if (opts.signal?.aborted) throw abortError(opts.signal);
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        total += value.byteLength;
      }
    } catch (err) {
      await reader.cancel(err).catch(() => {});
      throw err instanceof StorageError ? err : new StorageError('internal', `Upload of ${key} failed.`, { cause: err });
    }
    if (opts.contentLength !== undefined && total !== opts.contentLength) {
      throw new StorageError('invalid', `Upload of ${key} had ${total} bytes, not ${opts.contentLength}.`);
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.byteLength;
    }
    return this.putBytes(key, bytes);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    return paginate(
      [...this.#objects.values()].map((e) => ({ ...e.meta })),
      prefix,
      opts,
    );
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    if (!this.#objects.delete(key)) return;
    for (const p of parentKeys(key)) {
      const n = this.#dirs.get(p)! - 1;
      if (n === 0) this.#dirs.delete(p);
      else this.#dirs.set(p, n);
    }
  }

  async copy(srcKey: string, dstKey: string): Promise<ObjectMeta> {
    assertKey(srcKey);
    assertKey(dstKey);
    const e = this.#objects.get(srcKey);
    if (!e) throw new StorageError('not_found', `No object ${srcKey}.`);
    this.#checkTree(dstKey);
    // Shares the bytes (and so the content ETag): stored arrays are never written to, since puts store a
    // fresh array and reads hand out slices.
    const meta: ObjectMeta = { key: dstKey, size: e.meta.size, etag: e.meta.etag, lastModified: Math.floor(this.#clock.now()) };
    this.#set(dstKey, { bytes: e.bytes, meta });
    return { ...meta };
  }
}
