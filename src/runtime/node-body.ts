/**
 * @module node-body
 * The Node responder for downloads: writes the object's bytes straight into the `ServerResponse` that
 * @hono/node-server passes as `c.env.outgoing`, and answers Hono with `RESPONSE_ALREADY_SENT`. No web stream in
 * between (`Readable.toWeb` copies every chunk, and a web body costs promises per chunk: performance-notes §1.7,
 * §2.3). Two ways, by what the store offers:
 * - a `ByteSource` (files): read into reused buffers (at most two per response: 1 MiB ones from a process-wide
 *   budget, 64 KiB ones once it is spent, pump-buffers.ts), each written to the socket and reused once the
 *   socket is done with it. No allocation and no garbage per chunk, so CPU per byte and memory are below those
 *   of a Node `fs` pipe (bench/memory/stream-1gib.ts), and a client that never reads pins a bounded amount;
 * - a Node `Readable` (e.g. an HTTP client's body): piped, with `pipe`'s backpressure.
 *
 * Both keep every promise of the portable guard (src/core/artifacts/guarded-body.ts), with the same outcomes:
 * - exactly `expected` bytes: a source that errors, ends early or sends too much destroys the connection, so
 *   the client sees fewer bytes than Content-Length, never a clean short end;
 * - the idle budget: one timer per response on the injected Timers, re-armed only when it fires; a read from
 *   the source that waits `idleMs` (time spent waiting for a slow client does not count) aborts the
 *   connection and releases the source (its file handle);
 * - a client that goes away stops the read (the source is released, the storage request aborted); one that
 *   stops reading is closed by the server's send timeout (node-server.ts), which is the same thing;
 * - `onEnd` once, with the outcome and the bytes handed to the socket: `complete` when the response has
 *   finished (every byte flushed to the kernel).
 *
 * It falls back to the portable responder when there is no Node response (in-process `app.request()`, HTTP/2)
 * or the read has no native form (the memory store, or a web body already taken).
 */
import { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { ByteSource } from '../core/storage/object-store.ts';
import { DownloadAborted, idleWatch, type StreamOutcome } from '../core/artifacts/guarded-body.ts';
import { respondWithStream, type ObjectReply, type ObjectResponder } from '../core/artifacts/object-responder.ts';
import { BufferLease } from './pump-buffers.ts';

/** @example createNodeDeps → createDeps({ …, respondObject: nodeResponder() }) */
export function nodeResponder(fallback: ObjectResponder = respondWithStream): ObjectResponder {
  return (reply, bindings) => {
    const res = (bindings as { outgoing?: unknown } | null | undefined)?.outgoing;
    if (!(res instanceof ServerResponse) || res.headersSent) return fallback(reply, bindings);
    const source = reply.result.byteSource?.();
    if (source) {
      pumpGuarded(source, res, reply);
      return RESPONSE_ALREADY_SENT;
    }
    const stream = reply.result.nodeStream?.();
    if (stream === undefined) return fallback(reply, bindings);
    if (!(stream instanceof Readable)) {
      void reply.result.release();
      throw new TypeError('The object store handed over something that is not a Node Readable.');
    }
    pipeGuarded(stream, res, reply);
    return RESPONSE_ALREADY_SENT;
  };
}

/** Read size of the pump: the fs store's read size (performance-notes §2.1: 1 MiB is worth 3–4× over 64 KiB). */
export { PUMP_CHUNK } from './pump-buffers.ts';

/** The client left before the response started: nothing to write, release the source. */
function goneBeforeStart(res: ServerResponse, reply: ObjectReply, release: () => void): boolean {
  if (!res.destroyed) return false;
  reply.onEnd?.('client_abort', 0);
  reply.abortUpstream(new DownloadAborted('client_abort'));
  release();
  return true;
}

/**
 * Writes `reply.status` and `reply.headers`, then the bytes of `source` read into reused buffers, guarded
 * (see the module doc). A buffer goes back to the pool only when the socket has called back for its write
 * without an error; one whose write never completes is left to the garbage collector, never reused.
 * Exported for tests and benchmarks; `nodeResponder` is the way in.
 */
export function pumpGuarded(source: ByteSource, res: ServerResponse, reply: ObjectReply): void {
  const { expected } = reply;
  const release = () => void source.close().catch(() => {});
  if (goneBeforeStart(res, reply, release)) return;
  const buffers = new BufferLease();
  const giveBuffer = (b: Buffer) => buffers.give(b);
  let sent = 0;
  // streaming → ending (every byte handed to `res.end`, waiting for 'finish') → done (onEnd called).
  let state: 'streaming' | 'ending' | 'done' = 'streaming';
  let reading = false;
  let blocked = false; // the socket is full: wait for 'drain'

  const done = (outcome: StreamOutcome) => {
    if (state === 'done') return;
    state = 'done';
    idle.stop();
    res.off('drain', onDrain);
    // Complete: every write has called back (the last one's callback runs on 'finish' too, after this).
    if (outcome === 'complete') setImmediate(() => buffers.end());
    else buffers.end();
    reply.onEnd?.(outcome, sent);
  };
  const fail = (outcome: StreamOutcome, cause?: unknown) => {
    if (state !== 'streaming') return;
    const err = new DownloadAborted(outcome, cause);
    done(outcome);
    reply.abortUpstream(err);
    release();
    res.destroy();
  };
  const idle = idleWatch(reply.timers, reply.idleMs, () => fail('upstream_stall'));

  const next = (): void => {
    if (state !== 'streaming' || reading || blocked) return;
    const buf = buffers.take(expected - sent);
    const want = Math.min(buf.length, expected - sent);
    reading = true;
    idle.waiting();
    source.read(want === buf.length ? buf : buf.subarray(0, want)).then(
      (n) => onRead(buf, want, n),
      (err: unknown) => {
        reading = false;
        idle.progress();
        giveBuffer(buf);
        fail('upstream_error', err);
      },
    );
  };
  const onRead = (buf: Buffer, want: number, n: number): void => {
    reading = false;
    idle.progress();
    if (state !== 'streaming') return giveBuffer(buf);
    if (n === 0) {
      giveBuffer(buf);
      return fail('upstream_short');
    }
    if (!(n > 0 && n <= want)) {
      giveBuffer(buf);
      return fail('upstream_error', new RangeError(`A source read of ${want} bytes answered ${n}.`));
    }
    sent += n;
    const chunk = n === buf.length ? buf : buf.subarray(0, n);
    if (sent === expected) {
      // Every declared byte is out: end the response and release the source at once.
      state = 'ending';
      idle.stop();
      res.end(chunk, () => giveBuffer(buf));
      release();
      return;
    }
    const more = res.write(chunk, (err) => {
      if (!err) giveBuffer(buf);
    });
    if (more) next(); // read the next chunk while this one is written
    else blocked = true;
  };
  function onDrain(): void {
    if (!blocked) return;
    blocked = false;
    next();
  }

  res.on('drain', onDrain);
  res.on('finish', () => {
    if (state === 'ending') done('complete');
  });
  res.on('close', () => {
    if (state === 'done') return;
    if (state === 'ending' && res.writableFinished) return done('complete');
    // The client left (or its socket failed) before every byte was out.
    done('client_abort');
    reply.abortUpstream(new DownloadAborted('client_abort'));
    release();
  });

  res.writeHead(reply.status, reply.headers);
  if (expected === 0) {
    state = 'ending';
    res.end();
    release();
    return;
  }
  next();
}

/**
 * Writes `reply.status` and `reply.headers`, then the bytes of a Node stream, guarded (see the module doc), with
 * `pipe`'s backpressure: pause on a full socket, resume on 'drain'. Exported for tests; `nodeResponder` is the
 * way in.
 */
export function pipeGuarded(source: Readable, res: ServerResponse, reply: ObjectReply): void {
  if (goneBeforeStart(res, reply, () => source.destroy())) return;
  const { expected } = reply;
  let sent = 0;
  // streaming → ending (every byte handed to `res.end`, waiting for 'finish') → done (onEnd called).
  let state: 'streaming' | 'ending' | 'done' = 'streaming';

  const done = (outcome: StreamOutcome) => {
    if (state === 'done') return;
    state = 'done';
    idle.stop();
    source.off('data', onData);
    res.off('drain', onDrain);
    reply.onEnd?.(outcome, sent);
  };
  /** Upstream trouble after the headers: release the read and abort the connection. */
  const fail = (outcome: StreamOutcome, cause?: unknown) => {
    if (state !== 'streaming') return;
    const err = new DownloadAborted(outcome, cause);
    done(outcome);
    reply.abortUpstream(err);
    source.destroy();
    res.destroy();
  };
  const idle = idleWatch(reply.timers, reply.idleMs, () => fail('upstream_stall'));

  function onData(chunk: Buffer): void {
    if (state !== 'streaming') return;
    const n = chunk.length;
    if (sent + n > expected) return fail('upstream_long');
    sent += n;
    if (sent === expected) {
      // Every declared byte is out: end the response and release the read at once.
      state = 'ending';
      idle.stop();
      res.end(chunk);
      source.off('data', onData);
      source.destroy();
      return;
    }
    if (res.write(chunk)) {
      idle.waiting(); // the next chunk is storage's to deliver
    } else {
      // The socket is full: wait for the client, not for storage (the idle budget does not run).
      idle.progress();
      source.pause();
    }
  }
  function onDrain(): void {
    if (state !== 'streaming') return;
    idle.waiting();
    source.resume();
  }

  source.on('error', (err: unknown) => fail('upstream_error', err));
  source.on('end', () => fail('upstream_short'));
  // Destroyed without an error and without an end (by someone else): the bytes will not come.
  source.on('close', () => fail('upstream_error'));
  res.on('drain', onDrain);
  res.on('finish', () => {
    if (state === 'ending') done('complete');
  });
  res.on('close', () => {
    if (state === 'done') return;
    if (state === 'ending' && res.writableFinished) return done('complete');
    // The client left (or its socket failed) before every byte was out.
    const reason = new DownloadAborted('client_abort');
    done('client_abort');
    reply.abortUpstream(reason);
    source.destroy();
  });

  res.writeHead(reply.status, reply.headers);
  if (expected === 0) {
    state = 'ending';
    res.end();
    source.destroy();
    return;
  }
  idle.waiting();
  source.on('data', onData);
}
