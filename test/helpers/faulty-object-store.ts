/**
 * @module faulty-object-store
 * An ObjectStore wrapper that injects the upstream faults of range-and-signing §6 and records what the
 * gateway did to it: failures before the first byte (each StorageError kind, or a non-StorageError), a slow
 * time to first byte on injected timers, a body that stalls or errors after N bytes, and answers that lie
 * about the range, the length, the ETag or the size. Counts calls, bytes pulled from the inner store, aborts
 * and cancels.
 */
import {
  StorageError,
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
  /** Bodies cancelled by the consumer. */
  cancelled: number;
  lastGet?: GetOptions;
}

export class FaultyObjectStore implements ObjectStore {
  readonly inner: ObjectStore;
  readonly timers: Timers | undefined;
  faults: Faults = {};
  /** Called when a consumer cancels a body (real-socket tests wait on it instead of sleeping). */
  onCancel: (() => void) | undefined;
  readonly stats: FaultStats = { gets: 0, heads: 0, bytesRead: 0, aborted: 0, cancelled: 0 };

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
    const out: GetResult = { ...r, body: this.#wrap(r.body, r.length) };
    if (lie === 'unknown-size') out.meta = { ...r.meta, size: Number.NaN };
    if (lie === 'short-length') out.length = r.length - 1;
    if (lie === 'long-length') out.length = r.length + 1;
    if (lie === 'etag') out.meta = { ...r.meta, etag: '"someone-else"' };
    return out;
  }

  #wrap(body: ReadableStream<Uint8Array>, length: number): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    const f = this.faults;
    const stats = this.stats;
    const notifyCancel = () => this.onCancel?.();
    let delivered = 0;
    let extraSent = false;
    const limit = f.stallAfterBytes ?? f.errorAfterBytes ?? (f.lie === 'short-body' ? Math.floor(length / 2) : Infinity);
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
          stats.cancelled++;
          notifyCancel();
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
