/**
 * @module worker-native-bodies
 * Lets the Worker's download responder (worker-body.ts) pipe R2's own body natively. The R2 adapter, given an
 * abort signal, routes the body through an identity TransformStream that the signal errors; workerd cannot
 * pipe such a stream into another TransformStream (the FixedLengthStream that gives the answer its exact
 * length), so every chunk would pass through JS. This wrapper reads without handing the signal to the store
 * (R2's body stays untouched, offered as `nodeStream()`, "the runtime's own stream") and keeps the signal's
 * meaning itself:
 * - aborted before or while the read starts: the read rejects, a late result is released;
 * - aborted once the body is open: the body is cancelled if nobody reads it yet; a body already being piped
 *   is torn down by its consumer (the responder cancels it when the client leaves or the answer fails).
 * Every other call passes straight through.
 */
import { readAborted, type GetOptions, type GetResult, type ObjectStore } from '../core/storage/object-store.ts';

/** @example const store = withNativeBodies(new R2ObjectStore(env.ARTIFACTS)) */
export function withNativeBodies(store: ObjectStore): ObjectStore {
  return {
    head: (key, opts) => store.head(key, opts),
    put: (key, body, opts) => store.put(key, body, opts),
    list: (prefix, opts) => store.list(prefix, opts),
    delete: (key) => store.delete(key),
    copy: (src, dst) => store.copy(src, dst),
    async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
      const { signal, ...rest } = opts;
      if (!signal) return store.get(key, rest);
      if (signal.aborted) throw readAborted(signal);
      const pending = store.get(key, rest);
      let onAbort!: () => void;
      const abortedFirst = new Promise<never>((_, reject) => {
        onAbort = () => reject(readAborted(signal));
        signal.addEventListener('abort', onAbort, { once: true });
      });
      let inner: GetResult;
      try {
        inner = await Promise.race([pending, abortedFirst]);
      } catch (e) {
        // A read that lands after the abort is given up at once.
        void pending.then((late) => late.release(signal.reason), () => {});
        throw e;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
      let taken = false;
      const cancelIfIdle = () => {
        const b = inner.body;
        if (!b.locked) void b.cancel(signal.reason).catch(() => {});
      };
      signal.addEventListener('abort', cancelIfIdle, { once: true });
      const result: GetResult = {
        meta: inner.meta,
        length: inner.length,
        ...(inner.range ? { range: inner.range } : {}),
        get body() {
          taken = true;
          return inner.body;
        },
        nodeStream: () => {
          if (taken) return undefined;
          taken = true;
          return inner.body;
        },
        release: (reason?: unknown) => {
          signal.removeEventListener('abort', cancelIfIdle);
          return inner.release(reason);
        },
      };
      return result;
    },
  };
}
