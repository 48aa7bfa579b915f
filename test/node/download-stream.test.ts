/**
 * The download route on a real socket (@hono/node-server, port 0), observed with node:http as a client. These
 * requests take the Node entry's path: the fs read stream piped straight into the ServerResponse
 * (src/runtime/node-body.ts), not a web stream. Covered: exact bytes and SHA-256 for full and ranged GETs,
 * what a client sees when the upstream fails or lies mid-body, that a client abort releases the storage read
 * and its file handle, the idle budget on manual timers, the audit row with the bytes actually sent, and a
 * 250 MiB object fetched as MLflow's three parallel 100 MiB ranges.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serve, type ServerType } from '@hono/node-server';
import { systemTimers } from '../../src/core/timers.ts';
import { listAudit, type AuditRow } from '../../src/core/audit.ts';
import { idleWatch } from '../../src/core/artifacts/guarded-body.ts';
import type { FsObjectStore } from '../../src/adapters/fs/fs-object-store.ts';
import { downloadEnv, type DownloadEnv } from '../helpers/download-env.ts';
import { manualTimers } from '../helpers/manual-timers.ts';
import { pattern } from '../helpers/streams.ts';
import { rawGet } from '../helpers/raw-get.ts';

const MiB = 1024 * 1024;

/** A deterministic 250 MiB body in 1 MiB chunks (xorshift32 over 32-bit words), hashed as it is produced. */
function generated(size: number, seed: number, hash: ReturnType<typeof createHash>): ReadableStream<Uint8Array> {
  let x = seed >>> 0 || 1;
  let left = size;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (left === 0) return c.close();
      const n = Math.min(MiB, left);
      const words = new Uint32Array(Math.ceil(n / 4));
      for (let i = 0; i < words.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        words[i] = x >>> 0;
      }
      const chunk = new Uint8Array(words.buffer, 0, n);
      hash.update(chunk);
      left -= n;
      c.enqueue(chunk);
    },
  });
}

interface Fetched {
  res: IncomingMessage;
  bytes: number;
  /** 'end' for a complete body, otherwise the error the socket ended with. */
  outcome: string;
}

async function fetchRaw(url: string, headers: Record<string, string> = {}, onData?: (chunk: Buffer, res: IncomingMessage) => void): Promise<Fetched> {
  let bytes = 0;
  const { res, outcome } = await rawGet(url, headers, (chunk, r) => {
    bytes += chunk.length;
    onData?.(chunk, r);
  });
  return { res, bytes, outcome };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Like fetchRaw, also hashing the body. */
async function fetchHashed(url: string, headers: Record<string, string> = {}): Promise<Fetched & { sha256: string }> {
  const h = createHash('sha256');
  const r = await fetchRaw(url, headers, (chunk) => h.update(chunk));
  return { ...r, sha256: h.digest('hex') };
}

async function listening(e: DownloadEnv): Promise<{ server: ServerType; origin: string }> {
  const s = serve({ fetch: e.app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => s.once('listening', () => resolve()));
  return { server: s, origin: `http://127.0.0.1:${(s.address() as AddressInfo).port}` };
}

/**
 * Waits until the fs store holds no open read, or 2 s have passed: closing a handle is a thread-pool job, so it
 * can lag the response on a loaded machine. Returns how many are still open.
 */
async function handlesReleased(e: DownloadEnv): Promise<number> {
  const inner = e.inner as FsObjectStore;
  const until = performance.now() + 2000;
  while (inner.openReads > 0 && performance.now() < until) await new Promise((resolve) => setTimeout(resolve, 1));
  return inner.openReads;
}

/** The newest download audit row, after flushing the group commit. */
async function lastDownloadAudit(e: DownloadEnv): Promise<AuditRow> {
  await e.h.deps.audit.flush();
  const [row] = await listAudit(e.h.db, { action: 'download', limit: 1 });
  return row!;
}

let env: DownloadEnv;
let server: ServerType;
let origin: string;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  env = await downloadEnv({ store: 'fs', timers: systemTimers, limits: { ttfbMs: 8000, idleMs: 8000 } });
  ({ server, origin } = await listening(env));
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await env.cleanup();
  process.off('unhandledRejection', onUnhandled);
});

afterEach(() => {
  env.store.faults = {};
  env.store.forms = { byteSource: true, nodeStream: true };
  env.store.onCancel = undefined;
  expect(unhandled).toEqual([]);
});

/** The Node entry's two ways of writing a body, chosen by the native form the store offers. */
const PATHS = [
  // One read at a time, each written before the next is asked for.
  { path: 'byte source → reused buffers', forms: { byteSource: true, nodeStream: false }, stat: 'byteSources', aheadChunks: 1 },
  // The fs stream's 1 MiB buffer and its read in flight, plus this helper's fault wrapper (one more chunk).
  { path: 'Node stream → pipe', forms: { byteSource: false, nodeStream: true }, stat: 'nodeStreams', aheadChunks: 4 },
] as const;

describe.each(PATHS)('download over a real socket, $path', ({ forms, stat, aheadChunks }) => {
  const taken = (e: DownloadEnv) => e.store.stats[stat];
  const useForms = (e: DownloadEnv) => (e.store.forms = { ...forms });

  it('an upstream error mid-body aborts the connection: fewer bytes than Content-Length, no clean end', async () => {
    const meta = await env.addObject('model/reset.bin', pattern(4 * MiB, 13));
    const { url } = await env.mint('model/reset.bin', meta);
    env.store.faults = { errorAfterBytes: Math.floor(1.6 * MiB) };
    useForms(env);
    const piped = taken(env);
    for (const headers of [{}, { Range: `bytes=0-${3 * MiB - 1}` }] as Array<Record<string, string>>) {
      const r = await fetchRaw(origin + url, headers);
      expect([200, 206]).toContain(r.res.statusCode);
      const declared = Number(r.res.headers['content-length']);
      expect(r.res.headers['transfer-encoding']).toBeUndefined();
      expect(r.outcome).not.toBe('end');
      expect(r.res.complete).toBe(false);
      expect(r.bytes).toBeLessThan(declared);
      expect(r.bytes).toBeLessThanOrEqual(Math.floor(1.6 * MiB));
      // The audit row holds what went out, not what was declared; the file handle is closed.
      const row = await lastDownloadAudit(env);
      expect(row.detail).toContain('aborted: upstream_error');
      expect(row.bytes).toBeGreaterThan(0);
      expect(row.bytes).toBeLessThanOrEqual(Math.floor(1.6 * MiB));
      expect(row.bytes).toBeGreaterThanOrEqual(r.bytes);
      expect(await handlesReleased(env)).toBe(0);
    }
    expect(taken(env) - piped).toBe(2);
    // The server is still serving.
    env.store.faults = {};
    const ok = await fetchRaw(origin + url, { Range: 'bytes=0-9' });
    expect(ok.outcome).toBe('end');
    expect(ok.res.statusCode).toBe(206);
  });

  it('a client that leaves after 1 MB releases the storage stream and its file handle', async () => {
    const meta = await env.addObject('model/abort.bin', pattern(64 * MiB, 17));
    const { url } = await env.mint('model/abort.bin', meta);
    const cancelled = new Promise<void>((resolve) => (env.store.onCancel = resolve));
    const inner = env.inner as FsObjectStore;
    useForms(env);
    const before = taken(env);
    const readBefore = env.store.stats.bytesRead;
    let seen = 0;
    const r = await fetchRaw(origin + url, {}, (chunk, res) => {
      seen += chunk.length;
      if (seen >= MiB) res.destroy();
    });
    expect(r.outcome).not.toBe('end');
    await cancelled;
    expect(env.store.stats.cancelled).toBeGreaterThanOrEqual(1);
    expect(await handlesReleased(env)).toBe(0);
    expect(inner.openReads).toBe(0);
    const row = await lastDownloadAudit(env);
    expect(row.detail).toContain('aborted: client_abort');
    const sent = row.bytes ?? Number.NaN;
    expect(sent).toBeGreaterThanOrEqual(seen);
    const read = env.store.stats.bytesRead - readBefore;
    expect(sent).toBeLessThanOrEqual(read);
    // Pull-based: storage was read at most a few chunks past what went to the socket, and never to the end.
    // (What went to the socket is bounded by the kernel's buffers: loopback autotunes up to tcp_rmem's max.)
    expect(read - sent).toBeLessThanOrEqual(aheadChunks * MiB);
    expect(read).toBeLessThan(64 * MiB);
    expect(taken(env) - before).toBe(1);
  });

  it('full and ranged GETs: exact bytes, SHA-256 and Content-Length; the connection is reused after each', async () => {
    const size = 5 * MiB + 12_345;
    const bytes = pattern(size, 29);
    const meta = await env.addObject('model/exact.bin', bytes);
    const { url } = await env.mint('model/exact.bin', meta);
    useForms(env);
    const piped = taken(env);
    const cases: Array<[Record<string, string>, number, number, string | undefined]> = [
      [{}, 0, size - 1, undefined],
      [{ Range: 'bytes=0-0' }, 0, 0, `bytes 0-0/${size}`],
      [{ Range: `bytes=${MiB - 7}-${3 * MiB + 100}` }, MiB - 7, 3 * MiB + 100, `bytes ${MiB - 7}-${3 * MiB + 100}/${size}`],
      [{ Range: 'bytes=-1000' }, size - 1000, size - 1, `bytes ${size - 1000}-${size - 1}/${size}`],
      [{ Range: `bytes=${4 * MiB}-` }, 4 * MiB, size - 1, `bytes ${4 * MiB}-${size - 1}/${size}`],
    ];
    for (const [headers, start, end, contentRange] of cases) {
      const r = await fetchHashed(origin + url, headers);
      expect(r.outcome, JSON.stringify(headers)).toBe('end');
      expect(r.res.statusCode).toBe(contentRange ? 206 : 200);
      expect(r.res.headers['content-range']).toBe(contentRange);
      expect(r.res.headers['content-length']).toBe(String(end - start + 1));
      expect(r.res.headers['transfer-encoding']).toBeUndefined();
      expect(r.res.headers['cache-control']).toBe('private, no-store, no-transform');
      expect(r.res.headers.etag).toBe(meta.etag);
      expect(r.bytes).toBe(end - start + 1);
      expect(r.sha256).toBe(sha256(bytes.subarray(start, end + 1)));
      const row = await lastDownloadAudit(env);
      expect(row).toMatchObject({ bytes: end - start + 1, status: contentRange ? 206 : 200 });
      expect(row.detail).not.toContain('aborted');
      expect(await handlesReleased(env)).toBe(0);
    }
    expect(taken(env) - piped).toBe(cases.length);
    // The connection stays usable after piped responses (keep-alive): one socket, several requests.
    const { Agent } = await import('node:http');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const sockets = new Set<unknown>();
      for (let i = 0; i < 3; i++) {
        const h = createHash('sha256');
        const got = await new Promise<{ status: number; n: number }>((resolve, reject) => {
          const req = request(origin + url, { agent, headers: { Range: 'bytes=10-2000009' } }, (res) => {
            sockets.add(res.socket);
            let n = 0;
            res.on('data', (c: Buffer) => {
              n += c.length;
              h.update(c);
            });
            res.on('end', () => resolve({ status: res.statusCode!, n }));
          });
          req.on('error', reject);
          req.end();
        });
        expect(got).toEqual({ status: 206, n: 2_000_000 });
        expect(h.digest('hex')).toBe(sha256(bytes.subarray(10, 2_000_010)));
      }
      expect(sockets.size).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it('many concurrent downloads, some of them slow readers, all get their exact bytes (buffers are reused safely)', async () => {
    const size = 12 * MiB + 777;
    const bytes = pattern(size, 41);
    const meta = await env.addObject('model/many.bin', bytes);
    const { url } = await env.mint('model/many.bin', meta);
    useForms(env);
    const asks = Array.from({ length: 12 }, (_, i) => {
      const start = i % 3 === 0 ? 0 : i * 333_333;
      const end = i % 4 === 0 ? size - 1 : Math.min(size - 1, start + 3 * MiB + i * 4099);
      return { start, end, slow: i % 2 === 1 };
    });
    const results = await Promise.all(
      asks.map(({ start, end, slow }) => {
        const h = createHash('sha256');
        let n = 0;
        return fetchRaw(origin + url, { Range: `bytes=${start}-${end}` }, (chunk, res) => {
          h.update(chunk);
          // A slow reader: stop reading now and then, so the server waits on the socket mid-body.
          if (slow && ++n % 3 === 0) {
            res.pause();
            setImmediate(() => setImmediate(() => res.resume()));
          }
        }).then((r) => ({ ...r, sha256: h.digest('hex') }));
      }),
    );
    results.forEach((r, i) => {
      const { start, end } = asks[i]!;
      expect(r.outcome).toBe('end');
      expect(r.bytes).toBe(end - start + 1);
      expect(r.sha256, `request ${i}`).toBe(sha256(bytes.subarray(start, end + 1)));
    });
    expect(await handlesReleased(env)).toBe(0);
  });

  it('an upstream that ends short aborts the connection; surplus upstream bytes are never relayed', async () => {
    const bytes = pattern(3 * MiB, 31);
    const meta = await env.addObject('model/lies.bin', bytes);
    const { url } = await env.mint('model/lies.bin', meta);
    useForms(env);
    env.store.faults = { lie: 'short-body' };
    const short = await fetchRaw(origin + url);
    expect(short.res.statusCode).toBe(200);
    expect(short.outcome).not.toBe('end');
    expect(short.bytes).toBe(1.5 * MiB);
    expect((await lastDownloadAudit(env)).detail).toContain('aborted: upstream_short');
    env.store.faults = { lie: 'long-body' };
    const long = await fetchHashed(origin + url, { Range: 'bytes=100-199' });
    expect(long.outcome).toBe('end');
    expect(long.bytes).toBe(100);
    expect(long.sha256).toBe(sha256(bytes.subarray(100, 200)));
    expect(await handlesReleased(env)).toBe(0);
  });

  it('idle budget (manual timers, no sleeping): a source silent for idleMs aborts the connection and closes the file', async () => {
    const e = await downloadEnv({ store: 'fs', limits: { ttfbMs: 8000, idleMs: 5000 } });
    useForms(e);
    const timers = e.timers!;
    const { server: s, origin: o } = await listening(e);
    try {
      const meta = await e.addObject('model/stall.bin', pattern(3 * MiB, 37));
      const { url } = await e.mint('model/stall.bin', meta);
      e.store.faults = { stallAfterBytes: MiB };
      let got = 0;
      let reachedStall!: () => void;
      const stalled = new Promise<void>((resolve) => (reachedStall = resolve));
      const done = fetchRaw(o + url, {}, (chunk) => {
        got += chunk.length;
        if (got >= MiB) reachedStall();
      });
      await stalled;
      // Let the server see the socket drain, so the read that never answers is the one waited for.
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(timers.pending()).toBe(1); // the one idle timer (the TTFB budget was cleared)
      timers.advance(4_999);
      expect(e.store.stats.cancelled).toBe(0);
      expect((e.inner as FsObjectStore).openReads).toBe(1);
      timers.advance(1);
      expect(e.store.stats.cancelled).toBe(1);
      expect(e.store.stats.aborted).toBe(1);
      const r = await done;
      expect(r.res.statusCode).toBe(200);
      expect(r.res.headers['content-length']).toBe(String(3 * MiB));
      expect(r.outcome).not.toBe('end');
      expect(r.bytes).toBe(MiB);
      expect(await handlesReleased(e)).toBe(0);
      expect(timers.pending()).toBe(0);
      expect(taken(e)).toBe(1);
      expect(e.logLines.find((l) => l.event === 'artifact_stream_aborted')?.fields).toMatchObject({ reason: 'upstream_stall', bytes: MiB });
      const row = await lastDownloadAudit(e);
      expect(row).toMatchObject({ bytes: MiB, status: 200 });
      expect(row.detail).toContain('aborted: upstream_stall');
      // A healthy download on the same server is not touched by the budget, however long it takes.
      e.store.faults = {};
      const ok = await fetchHashed(o + url, { Range: `bytes=0-${2 * MiB - 1}` });
      expect(ok.outcome).toBe('end');
      expect(ok.bytes).toBe(2 * MiB);
      expect(timers.pending()).toBe(0);
    } finally {
      await new Promise<void>((resolve) => s.close(() => resolve()));
      await e.cleanup();
    }
  });

});

describe('download over a real socket', () => {
  it('row 55: a 250 MiB object as three parallel MLflow-sized ranges reassembles to the same SHA-256', { timeout: 180_000 }, async () => {
    const size = 250 * MiB;
    expect(size).toBe(262_144_000);
    const sourceHash = createHash('sha256');
    const meta = await env.addObject('model/weights.bin', generated(size, 2024, sourceHash));
    const expected = sourceHash.digest('hex');
    expect(meta.size).toBe(size);
    const { url } = await env.mint('model/weights.bin', meta);
    const pumped = env.store.stats.byteSources;
    const dir = await mkdtemp(join(tmpdir(), 'regate-dl-out-'));
    const out = await open(join(dir, 'weights.bin'), 'w+');
    try {
      const ranges: Array<[number, number, number]> = [
        [0, 104_857_599, 104_857_600],
        [104_857_600, 209_715_199, 104_857_600],
        [209_715_200, 262_143_999, 52_428_800],
      ];
      const writes: Array<Promise<unknown>> = [];
      const results = await Promise.all(
        ranges.map(([start, end]) => {
          let pos = start;
          return fetchRaw(origin + url, { Range: `bytes=${start}-${end}` }, (chunk) => {
            writes.push(out.write(chunk, 0, chunk.length, pos));
            pos += chunk.length;
          });
        }),
      );
      await Promise.all(writes);
      results.forEach((r, i) => {
        const [start, end, length] = ranges[i]!;
        expect(r.outcome).toBe('end');
        expect(r.res.statusCode).toBe(206);
        expect(r.res.headers['content-range']).toBe(`bytes ${start}-${end}/262144000`);
        expect(r.res.headers['content-length']).toBe(String(length));
        expect(r.bytes).toBe(length);
      });
      const got = createHash('sha256');
      for await (const chunk of out.createReadStream({ start: 0, highWaterMark: 4 * MiB, autoClose: false })) got.update(chunk as Buffer);
      expect(got.digest('hex')).toBe(expected);
      // By default the Node entry reads files into its own reused buffers.
      expect(env.store.stats.byteSources - pumped).toBe(3);
      expect(await handlesReleased(env)).toBe(0);
    } finally {
      await out.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the idle budget both guards share (idleWatch)', () => {
  it('counts only time a storage read waits; one timer, re-armed when it fires, never per chunk', () => {
    const timers = manualTimers();
    let armedTotal = 0;
    const counting = { ...timers, setTimeout: (fn: () => void, ms: number) => (armedTotal++, timers.setTimeout(fn, ms)) };
    let stalls = 0;
    const w = idleWatch(counting, 1000, () => stalls++);
    // 10 000 chunks within 900 ms: no timer work per chunk.
    for (let i = 0; i < 10_000; i++) {
      w.waiting();
      w.progress();
    }
    expect(armedTotal).toBe(1);
    timers.advance(900);
    w.waiting();
    timers.advance(999); // the first timer fires at 1000: the read waits since 900, re-armed for 900 more
    expect(stalls).toBe(0);
    expect(armedTotal).toBe(2);
    timers.advance(1);
    expect(stalls).toBe(1);
    expect(timers.pending()).toBe(0);
  });

  it('waiting for a slow client does not count; the next storage wait arms it again', () => {
    const timers = manualTimers();
    let stalls = 0;
    const w = idleWatch(timers, 1000, () => stalls++);
    w.waiting();
    w.progress(); // the socket is full: the client's turn
    timers.advance(60_000);
    expect(stalls).toBe(0);
    expect(timers.pending()).toBe(0);
    w.waiting(); // drained: storage's turn again
    timers.advance(999);
    expect(stalls).toBe(0);
    timers.advance(1);
    expect(stalls).toBe(1);
  });

  it('stop() clears the timer', () => {
    const timers = manualTimers();
    const w = idleWatch(timers, 1000, () => {
      throw new Error('no stall after stop');
    });
    w.waiting();
    w.stop();
    expect(timers.pending()).toBe(0);
    timers.advance(5000);
  });
});
