/**
 * @module guarded-body
 * The response body of a download: a pull-based stream over the storage body that
 * - reads from storage only when the client reads (highWaterMark 0: memory stays flat with slow clients, T21);
 * - delivers exactly the declared Content-Length: an upstream that ends early, sends too much, errors, or
 *   goes quiet longer than the idle budget makes this stream *error*, so the runtime aborts the connection
 *   instead of ending a short body cleanly (range-and-signing finding 3, T13, T19);
 * - cancels the storage read when the client goes away (T20).
 * It is a plain ReadableStream with one read per pull, not a TransformStream (performance-notes §2.6).
 */
import type { Timers } from '../timers.ts';

export type StreamOutcome = 'complete' | 'client_abort' | 'upstream_error' | 'upstream_stall' | 'upstream_short' | 'upstream_long';

export interface GuardOptions {
  /** Exact number of bytes the response declares. */
  expected: number;
  idleMs: number;
  timers: Timers;
  /** Aborts the storage request (its AbortController). */
  abortUpstream: (reason: unknown) => void;
  /** Called once, when the body ends one way or another. */
  onEnd?: (outcome: StreamOutcome, bytes: number) => void;
}

/** The error a guarded body fails with; its message is safe to log. */
export class DownloadAborted extends Error {
  readonly outcome: StreamOutcome;
  constructor(outcome: StreamOutcome, cause?: unknown) {
    super(`Download aborted: ${outcome}`, cause === undefined ? undefined : { cause });
    this.name = 'DownloadAborted';
    this.outcome = outcome;
  }
}

/** @example new Response(guardBody(result.body, { expected: 5, idleMs: 8000, timers, abortUpstream })) */
export function guardBody(source: ReadableStream<Uint8Array>, o: GuardOptions): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let sent = 0;
  let ended = false;
  const end = (outcome: StreamOutcome) => {
    if (ended) return false;
    ended = true;
    o.onEnd?.(outcome, sent);
    return true;
  };
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, outcome: StreamOutcome, cause?: unknown) => {
    const err = new DownloadAborted(outcome, cause);
    o.abortUpstream(err);
    reader.cancel(err).catch(() => {});
    controller.error(err);
    end(outcome);
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        // Loop until something is enqueued or the stream is settled: a pull that returns without either
        // would never be called again (WHATWG Streams only re-pulls after a new read request).
        for (;;) {
          let timer: unknown;
          const idle = new Promise<'idle'>((resolve) => {
            timer = o.timers.setTimeout(() => resolve('idle'), o.idleMs);
          });
          let r: ReadableStreamReadResult<Uint8Array> | 'idle';
          try {
            r = await Promise.race([reader.read(), idle]);
          } catch (err) {
            return fail(controller, 'upstream_error', err);
          } finally {
            o.timers.clearTimeout(timer);
          }
          if (ended) return;
          if (r === 'idle') return fail(controller, 'upstream_stall');
          if (r.done) {
            if (sent !== o.expected) return fail(controller, 'upstream_short');
            controller.close();
            end('complete');
            return;
          }
          const n = r.value.byteLength;
          if (n === 0) continue;
          if (sent + n > o.expected) return fail(controller, 'upstream_long');
          sent += n;
          controller.enqueue(r.value);
          if (sent === o.expected) {
            // All declared bytes are out: finish now and release the storage read.
            controller.close();
            reader.cancel().catch(() => {});
            end('complete');
          }
          return;
        }
      },
      cancel(reason) {
        if (end('client_abort')) o.abortUpstream(reason);
        return reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
