/**
 * @module miniflare-r2 (test helper)
 * Real, empty R2 buckets from miniflare 5 (workerd's own R2 implementation, in memory), used from Node tests
 * through miniflare's proxy of the binding. Starting workerd takes a while, so one instance serves
 * BUCKETS_PER_INSTANCE fresh buckets before another is started; `disposeAll` stops every instance (afterAll).
 *
 * `proxyKnownLength` is the Node side of workerd's FixedLengthStream: miniflare's proxy sends a stream tagged
 * with its length as a known-length body, and wraps it in a real FixedLengthStream inside workerd before R2 sees it.
 */
import { Miniflare } from 'miniflare';
import type { KnownLength } from '../../src/adapters/r2/r2-upload.ts';
import type { R2BucketLike } from '../../src/adapters/r2/r2-types.ts';

const BUCKETS_PER_INSTANCE = 16;
const NAMES = Array.from({ length: BUCKETS_PER_INSTANCE }, (_, i) => `R2_${i}`);
/** miniflare's own symbol for "this stream has a known length" (miniflare/dist/src/index.js, kStreamLength). */
const kStreamLength = Symbol.for('miniflare.kStreamLength');

/**
 * A body that fails is not errored across the proxy: miniflare's `prefixStream` then rejects unhandled
 * ("Writer is not bound to a WritableStream"). It is cut to a wrong length instead (ended short, or one byte
 * long if every declared byte had arrived), so workerd's FixedLengthStream fails the put just as an error would.
 */
export const proxyKnownLength: KnownLength = (body, length) => {
  const reader = body.getReader();
  let sent = 0;
  const tagged = new ReadableStream<Uint8Array>({
    async pull(c) {
      try {
        const { done, value } = await reader.read();
        if (done) return c.close();
        sent += value.byteLength;
        c.enqueue(value);
      } catch {
        if (sent === length) c.enqueue(new Uint8Array(1));
        c.close();
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
  (tagged as unknown as Record<symbol, number>)[kStreamLength] = length;
  return tagged;
};

export interface MiniflareR2Pool {
  /** A fresh, empty bucket (the binding's proxy). */
  bucket(): Promise<R2BucketLike>;
  disposeAll(): Promise<void>;
}

export function miniflareR2Pool(): MiniflareR2Pool {
  const instances: Miniflare[] = [];
  let current: Miniflare | undefined;
  let used = BUCKETS_PER_INSTANCE;
  let made = 0;

  return {
    async bucket() {
      if (!current || used >= BUCKETS_PER_INSTANCE) {
        const base = made++;
        current = new Miniflare({
          workers: [
            {
              config: {
                name: 'r2-host',
                compatibilityDate: '2026-11-01',
                manifest: {
                  mainModule: 'index.js',
                  modules: { 'index.js': { type: 'esm', contents: 'export default { fetch() { return new Response("unused") } }' } },
                },
                env: Object.fromEntries(NAMES.map((n) => [n, { type: 'r2' as const, name: `bucket-${base}-${n.toLowerCase().replace('_', '-')}` }])),
              },
            },
          ],
        });
        instances.push(current);
        used = 0;
      }
      return (await current.getR2Bucket(NAMES[used++]!)) as unknown as R2BucketLike;
    },
    async disposeAll() {
      const all = instances.splice(0);
      current = undefined;
      await Promise.all(all.map((m) => m.dispose()));
    },
  };
}
