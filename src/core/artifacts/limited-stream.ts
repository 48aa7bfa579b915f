/**
 * @module limited-stream
 * A pass-through byte stream that errors the moment more than a given number of bytes have gone through it,
 * and stops reading its source there: how an upload is cut off at its size limit or at the room left in its
 * owner's quota while it streams, instead of after the whole body was stored. The consumer (an object store's
 * `put`) sees an errored body and, by the store contract, leaves no trace; the caller asks `exceeded()` to tell
 * that refusal from a real storage failure.
 */

export interface LimitedStream {
  readonly stream: ReadableStream<Uint8Array>;
  /** Bytes passed through so far. */
  readonly bytes: number;
  /** True once the source went past the limit (the stream has then errored). */
  exceeded(): boolean;
}

/** Thrown into the limited stream when it passes its limit. */
export class LimitExceeded extends RangeError {
  override name = 'LimitExceeded';
}

/**
 * @param onBytes called with each chunk's size as it passes (live accounting of uploads in flight).
 * @example const lim = limitStream(body, 1000); await store.put(key, lim.stream).catch(e => { if (lim.exceeded()) … });
 */
export function limitStream(source: ReadableStream<Uint8Array>, max: number, onBytes?: (n: number) => void): LimitedStream {
  const reader = source.getReader();
  let bytes = 0;
  let over = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(ctl) {
      const { done, value } = await reader.read();
      if (done) return ctl.close();
      if (bytes + value.byteLength > max) {
        over = true;
        // Stop reading the client: nothing past the limit is read, let alone stored.
        void reader.cancel().catch(() => {});
        ctl.error(new LimitExceeded(`more than ${max} bytes`));
        return;
      }
      bytes += value.byteLength;
      onBytes?.(value.byteLength);
      ctl.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return {
    stream,
    get bytes() {
      return bytes;
    },
    exceeded: () => over,
  };
}
