/**
 * @module guarded-body
 * The response body of a download: a pull-based stream over the storage body that
 * - reads from storage only when the client reads (highWaterMark 0: memory stays flat with slow clients, T21);
 * - delivers exactly the declared Content-Length: an upstream that ends early, sends too much, errors, or
 *   keeps a read waiting longer than the idle budget makes this stream *error*, so the runtime aborts the
 *   connection instead of ending a short body cleanly (range-and-signing finding 3, T13, T19);
 * - cancels the storage read when the client goes away (T20).
 * It is a plain ReadableStream with one read per pull, not a TransformStream (performance-notes §2.6). The idle
 * budget is one timer per body, re-armed only when it fires: a read records when it started waiting, and the
 * timer compares that with the time (no timer or extra promise per chunk). Time spent waiting for the *client*
 * (no pull pending) does not count. The Node entry has twins of this guard that write to the socket itself, from
 * a byte source or a Node stream (src/runtime/node-body.ts); all keep the same outcomes.
 */
import type { TimerHandle, Timers } from '../timers.ts';

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

/**
 * The time on the clock `timers` run on, in ms: a Timers that tells its own time (`now()`, as the manual test
 * scheduler does) is asked; the runtime's timers run on the monotonic clock, `performance.now()`.
 */
export function timersClock(timers: Timers): () => number {
  const own = (timers as Timers & { now?: unknown }).now;
  if (typeof own === 'function') return () => (own as () => number).call(timers);
  return () => performance.now();
}

/**
 * One idle budget: `waiting()` when a read from storage starts waiting, `progress()` when it is answered;
 * `onStall` runs (once) when a read has waited `idleMs`. Its one timer is armed by the first wait after it last
 * fired and re-armed only when it fires, never per chunk; per chunk it costs a clock read.
 */
export interface IdleWatch {
  /** A storage read starts waiting now. */
  waiting(): void;
  /** No storage read is waiting (a chunk arrived, or the client is the one to wait for). */
  progress(): void;
  stop(): void;
}

export function idleWatch(timers: Timers, idleMs: number, onStall: () => void): IdleWatch {
  const now = timersClock(timers);
  let since = -1; // when the pending storage read started waiting; -1 while none is
  let timer: TimerHandle | undefined;
  let stopped = false;
  const fire = () => {
    timer = undefined;
    if (stopped || since < 0) return; // nothing waiting: the next wait arms it again
    const quiet = now() - since;
    if (quiet >= idleMs) {
      stopped = true;
      onStall();
      return;
    }
    timer = timers.setTimeout(fire, idleMs - quiet);
  };
  return {
    waiting() {
      if (stopped) return;
      since = now();
      if (timer === undefined) timer = timers.setTimeout(fire, idleMs);
    },
    progress() {
      since = -1;
    },
    stop() {
      stopped = true;
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** @example new Response(guardBody(result.body, { expected: 5, idleMs: 8000, timers, abortUpstream })) */
export function guardBody(source: ReadableStream<Uint8Array>, o: GuardOptions): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let sent = 0;
  let ended = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const end = (outcome: StreamOutcome) => {
    if (ended) return false;
    ended = true;
    idle.stop();
    o.onEnd?.(outcome, sent);
    return true;
  };
  const fail = (outcome: StreamOutcome, cause?: unknown) => {
    if (ended) return;
    const err = new DownloadAborted(outcome, cause);
    o.abortUpstream(err);
    // Cancelling settles a read still waiting (done), so its pull returns without touching the controller.
    reader.cancel(err).catch(() => {});
    controller.error(err);
    end(outcome);
  };
  const idle = idleWatch(o.timers, o.idleMs, () => fail('upstream_stall'));

  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      async pull(c) {
        // Loop until something is enqueued or the stream is settled: a pull that returns without either
        // would never be called again (WHATWG Streams only re-pulls after a new read request).
        for (;;) {
          let r: ReadableStreamReadResult<Uint8Array>;
          idle.waiting();
          try {
            r = await reader.read();
          } catch (err) {
            return fail('upstream_error', err);
          } finally {
            idle.progress();
          }
          if (ended) return;
          if (r.done) {
            if (sent !== o.expected) return fail('upstream_short');
            c.close();
            end('complete');
            return;
          }
          const n = r.value.byteLength;
          if (n === 0) continue;
          if (sent + n > o.expected) return fail('upstream_long');
          sent += n;
          c.enqueue(r.value);
          if (sent === o.expected) {
            // All declared bytes are out: finish now and release the storage read.
            c.close();
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
