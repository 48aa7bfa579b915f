/**
 * @module worker-body
 * The Worker's way of writing a download body (`RuntimePorts.respondObject`): the bytes go into a
 * `FixedLengthStream(expected)` whose readable side is the response body. workerd then knows the exact length
 * (the answer carries `Content-Length`, not chunked encoding), and an answer that would be short or long is an
 * error, never a clean end.
 *
 * Two ways in:
 * - native: when the store hands over the runtime's own stream (`GetResult.nodeStream()` returning a web
 *   ReadableStream, e.g. R2's body untouched), it is piped with `pipeTo`, which workerd runs natively, R2 to
 *   socket, with no JS per chunk: the portable guard (guarded-body.ts) ran at 14–30 MB/s on workerd, this at a
 *   bare Worker's speed (issue 9). Only for a stream that is not itself the readable side of a TransformStream:
 *   workerd does not implement pipeTo between two of its TransformStreams (the pipe never settles and an
 *   uncaught "Inter-TransformStream ReadableStream.pipeTo() is not implemented" is logged).
 * - pump: anything else (`result.body`, which a store may route through an identity stream for its abort
 *   signal) is read and written chunk by chunk into the FixedLengthStream, with the guard's idle budget.
 *
 * The guard's promises, kept on both: exactly `expected` bytes or an errored body (workerd resets the
 * connection); the storage read released (cancelled) when the client leaves, and `abortUpstream` called; `onEnd`
 * once with the outcome and the bytes. What the native pipe drops, and why it may: the idle budget between
 * chunks (timing chunks needs JS per chunk, what made the guard slow; the route still bounds the time to first
 * byte, and after that a stalled read is ended by the platform once the client, which MLflow gives a 10 s read
 * timeout, goes away: workerd cancels a request's subrequests when its client disconnects), the byte count of an
 * aborted download (the native pipe does not report how far it got: an aborted download records 0 bytes), and
 * naming a short or long source: the answer still errors (FixedLengthStream), but workerd resolves the pipe
 * itself, so the audit row says complete. The route has checked the store's declared length and range before
 * handing over (P11), and R2's own body errors if R2 delivers other than it declared.
 *
 * `bindings` are the request's WorkerBindings (worker.ts): the responder hands the body's end to
 * `afterResponse`, so the audit row it records is flushed through `ctx.waitUntil` after the body has ended.
 */
import { DownloadAborted, idleWatch, type StreamOutcome } from '../core/artifacts/guarded-body.ts';
import { respondWithStream, type ObjectResponder, type ObjectReply } from '../core/artifacts/object-responder.ts';

/** workerd's FixedLengthStream (an identity TransformStream that enforces its length), where the runtime has it. */
type FixedLengthStreamCtor = new (length: number | bigint) => TransformStream<Uint8Array, Uint8Array>;

/** What worker.ts passes as the app's bindings for one request. */
export interface WorkerBindings {
  /** The request's signal (aborted when the client disconnects, with the `enable_request_signal` flag). */
  requestSignal: AbortSignal;
  /** Keeps the isolate alive until `work` settles, then flushes the audit (worker.ts). */
  afterResponse(work: Promise<unknown>): void;
}

function isWorkerBindings(b: unknown): b is WorkerBindings {
  return typeof b === 'object' && b !== null && typeof (b as WorkerBindings).afterResponse === 'function';
}

function fixedLengthStream(): FixedLengthStreamCtor | undefined {
  return (globalThis as { FixedLengthStream?: FixedLengthStreamCtor }).FixedLengthStream;
}

/** The store's own stream, when it offers one that is a web stream (R2's body, in workerd). */
function nativeStream(reply: ObjectReply): ReadableStream<Uint8Array> | undefined {
  const take = reply.result.nodeStream;
  if (!take) return undefined;
  const s = take.call(reply.result);
  if (s instanceof ReadableStream) return s as ReadableStream<Uint8Array>;
  // Another runtime's stream (a Node Readable, under nodejs_compat): async-iterable, so readable as a web stream.
  if (s && typeof (s as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
    return (ReadableStream as unknown as { from(it: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> }).from(s as AsyncIterable<Uint8Array>);
  }
  return undefined;
}

/** The outcome of a native pipe that failed: the client leaving, or the storage side (short, long, erroring). */
function pipeOutcome(err: unknown, clientGone: boolean): StreamOutcome {
  if (clientGone) return 'client_abort';
  const text = String(err instanceof Error ? err.message : err);
  // workerd's FixedLengthStream: "…did not see all expected bytes before close()" / "…more bytes than expected".
  if (/expected bytes|before close/i.test(text)) return 'upstream_short';
  if (/more bytes|too many|exceed/i.test(text)) return 'upstream_long';
  return 'upstream_error';
}

/**
 * Reads `source` and writes it into `writable`, enforcing `expected` and the idle budget; resolves with the
 * outcome and the bytes written. On any failure both sides are torn down (the response errors).
 */
async function pumpExact(
  source: ReadableStream<Uint8Array>,
  writable: WritableStream<Uint8Array>,
  reply: Pick<ObjectReply, 'expected' | 'idleMs' | 'timers'>,
  clientGone: () => boolean,
): Promise<{ outcome: StreamOutcome; bytes: number; error?: unknown }> {
  const reader = source.getReader();
  const writer = writable.getWriter();
  let sent = 0;
  let stalled = false;
  const idle = idleWatch(reply.timers, reply.idleMs, () => {
    stalled = true;
    reader.cancel(new DownloadAborted('upstream_stall')).catch(() => {});
  });
  const fail = (outcome: StreamOutcome, error: unknown) => {
    idle.stop();
    const err = error instanceof DownloadAborted ? error : new DownloadAborted(outcome, error);
    writer.abort(err).catch(() => {});
    reader.cancel(err).catch(() => {});
    return { outcome, bytes: sent, error: err };
  };
  for (;;) {
    let r: ReadableStreamReadResult<Uint8Array>;
    idle.waiting();
    try {
      r = await reader.read();
    } catch (e) {
      return fail(stalled ? 'upstream_stall' : clientGone() ? 'client_abort' : 'upstream_error', e);
    } finally {
      idle.progress();
    }
    if (stalled) return fail('upstream_stall', undefined);
    if (r.done) {
      if (sent !== reply.expected) return fail('upstream_short', undefined);
      break;
    }
    const n = r.value.byteLength;
    if (n === 0) continue;
    if (sent + n > reply.expected) return fail('upstream_long', undefined);
    try {
      await writer.write(r.value);
    } catch (e) {
      // The response side failed: the client went away.
      return fail('client_abort', e);
    }
    sent += n;
    if (sent === reply.expected) {
      reader.cancel().catch(() => {});
      break;
    }
  }
  idle.stop();
  try {
    await writer.close();
  } catch (e) {
    return fail('client_abort', e);
  }
  return { outcome: 'complete', bytes: sent };
}

/**
 * The Worker responder. Falls back to the portable guarded stream where FixedLengthStream is missing (not
 * workerd) or the bindings are not a Worker request's (in-process tests calling `app.request`).
 */
export function workerResponder(): ObjectResponder {
  return (reply: ObjectReply, bindings: unknown): Response => {
    const Fixed = fixedLengthStream();
    if (!Fixed || !isWorkerBindings(bindings)) return respondWithStream(reply, bindings);
    const { expected } = reply;
    const fixed = new Fixed(expected);
    const clientGone = () => bindings.requestSignal.aborted;
    const native = nativeStream(reply);
    const done: Promise<{ outcome: StreamOutcome; bytes: number; error?: unknown }> = native
      ? native.pipeTo(fixed.writable).then(
          () => ({ outcome: 'complete' as const, bytes: expected }),
          (error: unknown) => ({ outcome: pipeOutcome(error, clientGone()), bytes: 0, error }),
        )
      : pumpExact(reply.result.body, fixed.writable, reply, clientGone);
    bindings.afterResponse(
      done.then(({ outcome, bytes, error }) => {
        if (outcome !== 'complete') reply.abortUpstream(error ?? new DownloadAborted(outcome));
        reply.onEnd?.(outcome, bytes);
      }),
    );
    return new Response(fixed.readable, { status: reply.status, headers: reply.headers });
  };
}
