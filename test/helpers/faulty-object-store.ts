/**
 * @module faulty-object-store
 * An ObjectStore wrapper that injects the upstream faults of range-and-signing §6 and records what the
 * gateway did to it: failures before the first byte (each StorageError kind, or a non-StorageError), a slow
 * time to first byte on injected timers, a body that stalls or errors after N bytes, and answers that lie
 * about the range, the length, the ETag or the size. Counts calls, bytes pulled from the inner store, aborts
 * and cancels. Body faults apply to every form of a read: the web `body` and, when the inner store has them,
 * the byte source and the Node stream the Node entry writes from (`byteSource()`, `nodeStream()`); `forms`
 * chooses which native forms are passed through, so tests can drive each of the entry's paths.
 */
import { Readable } from 'node:stream';
import {
  StorageError,
  type ByteSource,
  type GetOptions,
  type GetResult,
  type ListOptions,
  type ObjectMeta,
  type ObjectStore,
  type PutOptions,
  type StorageErrorKind,
} from '../../src/core/storage/object-store.ts';
import type { Timers } from '../../src/core/timers.ts';

export type Lie =
  | 'full-for-range' // 200 + the full body for a ranged request
  | 'other-range' // 206 for a different range than asked
  | 'unknown-size' // 206 with `/*` as the complete length
  | 'short-length' // Content-Length one byte short
  | 'long-length' // Content-Length one byte long
  | 'etag' // another ETag (the object changed under us)
  | 'short-body' // correct headers, body ends cleanly halfway
  | 'long-body'; // correct headers, body carries extra bytes

export interface Faults {
  /** get and head throw a StorageError of this kind before anything else. */
  failBeforeFirstByte?: StorageErrorKind;
  retryAfter?: number;
  /** get and head throw a plain Error (a broken adapter). */
  throwPlain?: boolean;
  /** get and head answer only after this many ms of the injected timers; an abort ends the wait. */
  ttfbDelayMs?: number;
  /** The body delivers this many bytes, then never answers again (until cancelled). */
  stallAfterBytes?: number;
  /** The body delivers this many bytes, then errors (an upstream reset). */
  errorAfterBytes?: number;
  lie?: Lie;
}

export interface FaultStats {
  gets: number;
  heads: number;
  /** Bytes pulled from the inner store's bodies. */
  bytesRead: number;
  /** Storage calls whose signal was aborted while they were running or streaming. */
  aborted: number;
  /** Reads given up by the consumer (web body cancelled, Node stream destroyed before its end, or released). */
  cancelled: number;
  /** Reads whose bytes were taken as a byte source (the Node entry's buffer pump). */
  byteSources: number;
  /** Reads whose bytes were taken as a Node stream (the Node entry's pipe). */
  nodeStreams: number;
  lastGet?: GetOptions;
}

export class FaultyObjectStore implements ObjectStore {
  readonly inner: ObjectStore;
  readonly timers: Timers | undefined;
  faults: Faults = {};
  /** Called when a consumer cancels a body (real-socket tests wait on it instead of sleeping). */
  onCancel: (() => void) | undefined;
  readonly stats: FaultStats = { gets: 0, heads: 0, bytesRead: 0, aborted: 0, cancelled: 0, byteSources: 0, nodeStreams: 0 };
  /** Which native forms of the inner store's reads are offered (default: all it has). */
  forms: { byteSource: boolean; nodeStream: boolean } = { byteSource: true, nodeStream: true };

  constructor(inner: ObjectStore, timers?: Timers) {
    this.inner = inner;
    this.timers = timers;
  }

  get calls(): number {
    return this.stats.gets + this.stats.heads;
  }

  #watch(signal: AbortSignal | undefined): void {
    signal?.addEventListener('abort', () => this.stats.aborted++, { once: true });
  }

  async #beforeFirstByte(signal: AbortSignal | undefined): Promise<void> {
    const f = this.faults;
    if (f.ttfbDelayMs !== undefined) {
      if (!this.timers) throw new Error('ttfbDelayMs needs injected timers');
      const timers = this.timers;
      await new Promise<void>((resolve, reject) => {
        const t = timers.setTimeout(resolve, f.ttfbDelayMs!);
        signal?.addEventListener('abort', () => {
          timers.clearTimeout(t);
          reject(new StorageError('internal', 'aborted while waiting', { cause: signal.reason }));
        }, { once: true });
      });
    }
    if (f.throwPlain) throw new Error('adapter bug at /secret/bucket/key');
    if (f.failBeforeFirstByte) {
      throw new StorageError(f.failBeforeFirstByte, 'injected failure for s3://secret-bucket/models/key', {
        ...(f.retryAfter !== undefined ? { retryAfter: f.retryAfter } : {}),
      });
    }
  }

  async head(key: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectMeta | null> {
    this.stats.heads++;
    this.#watch(opts.signal);
    await this.#beforeFirstByte(opts.signal);
    const meta = await this.inner.head(key, opts);
    if (meta && this.faults.lie === 'etag') return { ...meta, etag: '"someone-else"' };
    return meta;
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    this.stats.gets++;
    this.stats.lastGet = opts;
    this.#watch(opts.signal);
    await this.#beforeFirstByte(opts.signal);
    const lie = this.faults.lie;
    let ask = opts;
    if (opts.range && lie === 'full-for-range') {
      const { range: _dropped, ...rest } = opts;
      ask = rest;
    } else if (opts.range && lie === 'other-range') {
      ask = { ...opts, range: { start: opts.range.start + 1, end: opts.range.end + 1 } };
    }
    const r = await this.inner.get(key, ask);
    // Lazy like the adapters: the wrapped body (web or Node) is made only when the consumer takes it.
    let cancelled = false;
    const cancel = () => {
      if (cancelled) return;
      cancelled = true;
      this.stats.cancelled++;
      this.onCancel?.();
    };
    let body: ReadableStream<Uint8Array> | undefined;
    let released = false;
    const wrapWeb = (b: ReadableStream<Uint8Array>) => this.#wrap(b, r.length, cancel);
    const wrapNode = (s: Readable) => {
      this.stats.nodeStreams++;
      return this.#wrapNode(s, r.length, cancel);
    };
    const wrapSource = (s: ByteSource) => {
      this.stats.byteSources++;
      return this.#wrapSource(s, r.length, cancel);
    };
    const forms = { ...this.forms };
    const out: GetResult = {
      meta: r.meta,
      length: r.length,
      ...(r.range ? { range: r.range } : {}),
      get body() {
        return (body ??= wrapWeb(r.body));
      },
      ...(r.byteSource && forms.byteSource
        ? {
            byteSource: () => {
              if (body) return undefined;
              const s = r.byteSource!();
              return s && wrapSource(s);
            },
          }
        : {}),
      ...(r.nodeStream && forms.nodeStream
        ? {
            nodeStream: () => {
              if (body) return undefined;
              const s = r.nodeStream!();
              return s instanceof Readable ? wrapNode(s) : s;
            },
          }
        : {}),
      async release(reason?: unknown) {
        if (released) return;
        released = true;
        cancel();
        await r.release(reason);
      },
    };
    if (lie === 'unknown-size') out.meta = { ...r.meta, size: Number.NaN };
    if (lie === 'short-length') out.length = r.length - 1;
    if (lie === 'long-length') out.length = r.length + 1;
    if (lie === 'etag') out.meta = { ...r.meta, etag: '"someone-else"' };
    return out;
  }

  /** The limit after which the injected body fault (stall, error, short body) happens. */
  #limit(length: number): number {
    const f = this.faults;
    return f.stallAfterBytes ?? f.errorAfterBytes ?? (f.lie === 'short-body' ? Math.floor(length / 2) : Infinity);
  }

  /** `#wrap` for byte sources (the Node entry's buffer pump): the same faults, read by read. */
  #wrapSource(src: ByteSource, length: number, onCancel: () => void): ByteSource {
    const f = this.faults;
    const stats = this.stats;
    const limit = this.#limit(length);
    let delivered = 0;
    let extraSent = false;
    let ended = false;
    let failed = false;
    let closed = false;
    return {
      async read(into) {
        if (delivered >= limit) {
          if (f.errorAfterBytes !== undefined) {
            failed = true;
            throw new StorageError('internal', 'connection reset by peer');
          }
          if (f.lie === 'short-body') {
            ended = true;
            return 0;
          }
          return new Promise<number>(() => {}); // stall: never answers
        }
        const room = limit - delivered;
        const n = await src.read(into.byteLength > room ? into.subarray(0, room) : into);
        if (n === 0) {
          if (f.lie === 'long-body' && !extraSent) {
            extraSent = true;
            const extra = Math.min(10, into.byteLength);
            into.fill(0, 0, extra);
            return extra;
          }
          ended = true;
          return 0;
        }
        stats.bytesRead += n;
        delivered += n;
        return n;
      },
      async close() {
        if (closed) return;
        closed = true;
        // Closed by the consumer before the end (not after an error of the source's own).
        if (!ended && !failed) onCancel();
        await src.close();
      },
    };
  }

  /**
   * The Node twin of `#wrap` for the Node entry's direct pipe: the same faults over the inner store's Node
   * stream, pulled only as the consumer reads (the inner stream pauses while this one is full).
   */
  #wrapNode(src: Readable, length: number, onCancel: () => void): Readable {
    const f = this.faults;
    const stats = this.stats;
    const limit = this.#limit(length);
    let delivered = 0;
    let extraSent = false;
    let ended = false;
    let flowing = false;
    const out = new Readable({
      highWaterMark: 0,
      read() {
        if (delivered >= limit) {
          if (f.errorAfterBytes !== undefined) return void out.destroy(new StorageError('internal', 'connection reset by peer'));
          if (f.lie === 'short-body') return void ((ended = true), out.push(null));
          return; // stall: never answers
        }
        if (!flowing) {
          flowing = true;
          src.on('data', onData);
        }
        src.resume();
      },
      destroy(err, cb) {
        // Destroyed by the consumer before the end (an error here is the upstream's own, not a cancel).
        if (!ended && !err) onCancel();
        src.off('data', onData);
        src.destroy();
        cb(err);
      },
    });
    function onData(chunk: Buffer): void {
      if (delivered >= limit) return void src.pause();
      stats.bytesRead += chunk.length;
      const take = Math.min(chunk.length, limit - delivered);
      delivered += take;
      const more = out.push(take === chunk.length ? chunk : chunk.subarray(0, take));
      if (!more || delivered >= limit) src.pause();
    }
    src.on('end', () => {
      if (delivered >= limit) return;
      if (f.lie === 'long-body' && !extraSent) {
        extraSent = true;
        out.push(Buffer.alloc(10));
      }
      ended = true;
      out.push(null);
    });
    src.on('error', (err) => out.destroy(err));
    return out;
  }

  #wrap(body: ReadableStream<Uint8Array>, length: number, onCancel: () => void): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    const f = this.faults;
    const stats = this.stats;
    let delivered = 0;
    let extraSent = false;
    const limit = this.#limit(length);
    return new ReadableStream<Uint8Array>(
      {
        async pull(c) {
          if (delivered >= limit) {
            if (f.errorAfterBytes !== undefined) return c.error(new StorageError('internal', 'connection reset by peer'));
            if (f.lie === 'short-body') return c.close();
            return new Promise<void>(() => {}); // stall: never answers
          }
          const { done, value } = await reader.read();
          if (done) {
            if (f.lie === 'long-body' && !extraSent) {
              extraSent = true;
              c.enqueue(new Uint8Array(10));
              return;
            }
            return c.close();
          }
          stats.bytesRead += value.byteLength;
          const take = Math.min(value.byteLength, limit - delivered);
          delivered += take;
          c.enqueue(take === value.byteLength ? value : value.subarray(0, take));
        },
        cancel(reason) {
          onCancel();
          return reader.cancel(reason);
        },
      },
      { highWaterMark: 0 },
    );
  }

  put(key: string, body: ReadableStream<Uint8Array>, opts?: PutOptions): Promise<ObjectMeta> {
    return this.inner.put(key, body, opts);
  }
  list(prefix: string, opts?: ListOptions) {
    return this.inner.list(prefix, opts);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  copy(srcKey: string, dstKey: string): Promise<ObjectMeta> {
    return this.inner.copy(srcKey, dstKey);
  }
}
