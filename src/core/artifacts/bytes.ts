/**
 * @module bytes
 * Small byte helpers on web APIs: read a bounded stream whole (DBFS reads and JSON bodies are at most 1 MiB),
 * and base64.
 */

/** A stream passed the byte limit it was read with. */
export class StreamTooLong extends RangeError {
  override name = 'StreamTooLong';
}

/**
 * Reads a stream to its end, failing with StreamTooLong once more than `max` bytes arrive: the stream is then
 * cancelled, so nothing past the limit is read or kept.
 */
export async function readAll(stream: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw new StreamTooLong(`stream longer than ${max} bytes`);
    }
    parts.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step) s += String.fromCharCode(...bytes.subarray(i, i + step));
  return btoa(s);
}
