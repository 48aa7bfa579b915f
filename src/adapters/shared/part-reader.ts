/**
 * @module part-reader
 * Cuts an upload body into fixed-size parts for a multipart upload, checking its length against the declared
 * one. Shared by the S3 and R2 uploads (s3-upload.ts, r2-upload.ts): both protocols want every part but the
 * last of one size, and both must refuse a body longer or shorter than declared in the same words. Web APIs only
 * (R2 runs in workerd).
 */
import { StorageError } from '../../core/storage/object-store.ts';

/** The error of an upload stopped by its signal. */
export function uploadAborted(signal: AbortSignal): StorageError {
  return new StorageError('internal', 'Upload aborted.', { cause: signal.reason });
}

/** Cuts a byte stream into `size`-byte parts (the last may be shorter), checking the total against `expected`. */
export class PartReader {
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
      if (this.#signal?.aborted) throw uploadAborted(this.#signal);
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
