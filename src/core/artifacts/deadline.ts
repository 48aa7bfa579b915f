/**
 * @module deadline
 * A time-to-first-byte budget around a storage call: when it runs out the call is aborted (so the upstream
 * request is torn down, T18) and the caller gets `StorageError('timeout')` (→ 504). A result that arrives too
 * late is handed to `onLate`, which must release it (cancel its body), so nothing leaks.
 */
import { StorageError } from '../storage/object-store.ts';
import type { Timers } from '../timers.ts';

export interface DeadlineOptions<T> {
  ms: number;
  timers: Timers;
  /** Aborted when the budget runs out; pass its signal to the storage call. */
  controller: AbortController;
  onLate?: (value: T) => void;
}

/** @example const r = await withDeadline(() => store.get(key, { signal: ac.signal }), { ms: 8000, timers, controller: ac }) */
export function withDeadline<T>(run: () => Promise<T>, o: DeadlineOptions<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = o.timers.setTimeout(() => {
      if (settled) return;
      settled = true;
      const err = new StorageError('timeout', `Storage did not answer within ${o.ms} ms.`);
      o.controller.abort(err);
      reject(err);
    }, o.ms);
    Promise.resolve().then(run).then(
      (value) => {
        if (settled) return o.onLate?.(value);
        settled = true;
        o.timers.clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        o.timers.clearTimeout(timer);
        reject(err);
      },
    );
  });
}
