/**
 * The Worker's download responder (src/runtime/worker-body.ts) in workerd: a FixedLengthStream answer with an
 * exact Content-Length, natively piped when the store hands over its own stream, pumped otherwise; and the
 * guard's outcomes on both: short and long upstreams error the body (never a clean short end), the client
 * leaving cancels the storage read, a stalled read (pump) hits the idle budget; `onEnd` once, and the end handed
 * to `afterResponse` (ctx.waitUntil).
 */
import { describe, expect, it } from 'vitest';
import { workerResponder, type WorkerBindings } from '../../src/runtime/worker-body.ts';
import type { StreamOutcome } from '../../src/core/artifacts/guarded-body.ts';
import type { GetResult } from '../../src/core/storage/object-store.ts';
import { systemTimers, type Timers } from '../../src/core/timers.ts';
import { manualTimers } from '../helpers/manual-timers.ts';
import { equalBytes, pattern, streamOf } from '../helpers/streams.ts';

const N = 200_000;
const BYTES = pattern(N, 3);

/** A stream workerd made itself (not a JS one, not a TransformStream's readable), like R2's body. */
const nativeOf = (bytes: Uint8Array) => new Response(bytes as Uint8Array<ArrayBuffer>).body!;

interface Run {
  res: Response;
  ends: Array<[StreamOutcome, number]>;
  aborts: unknown[];
  after: Promise<unknown>[];
  bodyTaken: () => boolean;
}

function respond(source: { native?: ReadableStream<Uint8Array>; body?: ReadableStream<Uint8Array> }, opts: { timers?: Timers; signal?: AbortSignal; expected?: number } = {}): Run {
  const ends: Array<[StreamOutcome, number]> = [];
  const aborts: unknown[] = [];
  const after: Promise<unknown>[] = [];
  let taken = false;
  const result = {
    meta: { key: 'k', size: N, etag: '"e"', lastModified: 0 },
    length: opts.expected ?? N,
    get body() {
      taken = true;
      if (!source.body) throw new Error('the body form was not expected to be taken');
      return source.body;
    },
    ...(source.native ? { nodeStream: () => source.native } : {}),
    release: async () => {},
  } as GetResult;
  const bindings: WorkerBindings = { requestSignal: opts.signal ?? new AbortController().signal, afterResponse: (w) => void after.push(w) };
  const res = workerResponder()(
    {
      status: 200,
      headers: { 'Content-Length': String(opts.expected ?? N) },
      result,
      expected: opts.expected ?? N,
      idleMs: 5000,
      timers: opts.timers ?? systemTimers,
      abortUpstream: (r) => void aborts.push(r),
      onEnd: (o, b) => void ends.push([o, b]),
    },
    bindings,
  );
  return { res, ends, aborts, after, bodyTaken: () => taken };
}

const settle = async (r: Run) => {
  await Promise.all(r.after);
};

describe.each(['native', 'pump'] as const)('%s path', (path) => {
  const src = (bytes: Uint8Array) => (path === 'native' ? { native: nativeOf(bytes) } : { body: streamOf(bytes, 16 * 1024) });

  it('serves exactly the bytes with Content-Length, and ends complete', async () => {
    const r = respond(src(BYTES));
    expect(r.after.length).toBe(1);
    const body = new Uint8Array(await r.res.arrayBuffer());
    expect(equalBytes(body, BYTES)).toBe(true);
    await settle(r);
    expect(r.ends).toEqual([['complete', N]]);
    expect(r.aborts).toEqual([]);
    expect(r.bodyTaken()).toBe(path === 'pump');
  });

  it('a short upstream errors the body instead of ending it cleanly', async () => {
    const r = respond(src(BYTES.slice(0, N - 10)));
    await expect(r.res.arrayBuffer()).rejects.toThrow();
    await settle(r);
    expect(r.ends.length).toBe(1);
    // The native pipe resolves even then (workerd errors the answer, not the pipe), so only the pump can name
    // the outcome; the route checked the store's declared length before either.
    if (path === 'pump') {
      expect(r.ends[0]![0]).toBe('upstream_short');
      expect(r.aborts.length).toBe(1);
    }
  });

  it('a long upstream errors the body', async () => {
    const r = respond(src(pattern(N + 10, 3)));
    await expect(r.res.arrayBuffer()).rejects.toThrow();
    await settle(r);
    expect(r.ends.length).toBe(1);
    if (path === 'pump') expect(r.ends.map((e) => e[0])).toEqual(['upstream_long']);
  });

  it('the client leaving cancels the storage read and ends client_abort', async () => {
    const client = new AbortController();
    let cancelled = false;
    let sent = 0;
    // A source that would go on forever unless cancelled.
    const endless = new ReadableStream<Uint8Array>({
      pull(c) {
        sent += 1024;
        c.enqueue(new Uint8Array(1024));
      },
      cancel() {
        cancelled = true;
      },
    });
    const r = respond(path === 'native' ? { native: endless } : { body: endless }, { signal: client.signal });
    const reader = r.res.body!.getReader();
    await reader.read();
    client.abort();
    await reader.cancel('gone');
    await settle(r);
    expect(r.ends.map((e) => e[0])).toEqual(['client_abort']);
    expect(cancelled).toBe(true);
    expect(sent).toBeLessThan(N);
    expect(r.aborts.length).toBe(1);
  });
});

describe('pump path: idle budget', () => {
  it('a storage read that stalls for the idle budget aborts the body (upstream_stall)', async () => {
    const timers = manualTimers();
    let first = true;
    const stalls = new ReadableStream<Uint8Array>({
      pull(c) {
        if (first) {
          first = false;
          c.enqueue(new Uint8Array(10));
        }
        return new Promise(() => {}); // never answers again
      },
    });
    const r = respond({ body: stalls }, { timers });
    const reader = r.res.body!.getReader();
    expect((await reader.read()).value?.byteLength).toBe(10);
    const next = reader.read();
    // One macrotask turn: the pump's next storage read is waiting (no time passes on the manual timers).
    await new Promise((resolve) => setTimeout(resolve, 0));
    timers.advance(4999);
    expect(r.ends).toEqual([]);
    timers.advance(1);
    await expect(next).rejects.toThrow();
    await settle(r);
    expect(r.ends).toEqual([['upstream_stall', 10]]);
  });
});
