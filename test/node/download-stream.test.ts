/**
 * The download route on a real socket (@hono/node-server, port 0), observed with node:http as a client:
 * what a client sees when the upstream fails mid-body, that a client abort releases the storage read, and a
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
import type { FsObjectStore } from '../../src/adapters/fs/fs-object-store.ts';
import { downloadEnv, type DownloadEnv } from '../helpers/download-env.ts';
import { pattern } from '../helpers/streams.ts';

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

function fetchRaw(url: string, headers: Record<string, string> = {}, onData?: (chunk: Buffer, res: IncomingMessage) => void): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      let bytes = 0;
      let done = false;
      const finish = (outcome: string) => {
        if (done) return;
        done = true;
        resolve({ res, bytes, outcome });
      };
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        onData?.(chunk, res);
      });
      res.on('end', () => finish(res.complete ? 'end' : 'incomplete'));
      res.on('aborted', () => finish('aborted'));
      res.on('error', (e) => finish(`error: ${e.message}`));
      res.on('close', () => finish(res.complete ? 'end' : 'closed early'));
    });
    req.on('error', reject);
    req.end();
  });
}

let env: DownloadEnv;
let server: ServerType;
let origin: string;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  env = await downloadEnv({ store: 'fs', timers: systemTimers, limits: { ttfbMs: 8000, idleMs: 8000 } });
  server = serve({ fetch: env.app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await env.cleanup();
  process.off('unhandledRejection', onUnhandled);
});

afterEach(() => {
  env.store.faults = {};
  env.store.onCancel = undefined;
  expect(unhandled).toEqual([]);
});

describe('download over a real socket', () => {
  it('an upstream error mid-body aborts the connection: fewer bytes than Content-Length, no clean end', async () => {
    const meta = await env.addObject('model/reset.bin', pattern(4 * MiB, 13));
    const { url } = await env.mint('model/reset.bin', meta);
    env.store.faults = { errorAfterBytes: Math.floor(1.6 * MiB) };
    for (const headers of [{}, { Range: `bytes=0-${3 * MiB - 1}` }] as Array<Record<string, string>>) {
      const r = await fetchRaw(origin + url, headers);
      expect([200, 206]).toContain(r.res.statusCode);
      const declared = Number(r.res.headers['content-length']);
      expect(r.res.headers['transfer-encoding']).toBeUndefined();
      expect(r.outcome).not.toBe('end');
      expect(r.res.complete).toBe(false);
      expect(r.bytes).toBeLessThan(declared);
      expect(r.bytes).toBeLessThanOrEqual(Math.floor(1.6 * MiB));
    }
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
    let seen = 0;
    const r = await fetchRaw(origin + url, {}, (chunk, res) => {
      seen += chunk.length;
      if (seen >= MiB) res.destroy();
    });
    expect(r.outcome).not.toBe('end');
    await cancelled;
    expect(env.store.stats.cancelled).toBeGreaterThanOrEqual(1);
    // Pull-based: storage was read only a few chunks past what the socket took.
    expect(env.store.stats.bytesRead).toBeLessThan(24 * MiB);
    for (let i = 0; i < 1000 && inner.openReads > 0; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(inner.openReads).toBe(0);
  });

  it('row 55: a 250 MiB object as three parallel MLflow-sized ranges reassembles to the same SHA-256', { timeout: 180_000 }, async () => {
    const size = 250 * MiB;
    expect(size).toBe(262_144_000);
    const sourceHash = createHash('sha256');
    const meta = await env.addObject('model/weights.bin', generated(size, 2024, sourceHash));
    const expected = sourceHash.digest('hex');
    expect(meta.size).toBe(size);
    const { url } = await env.mint('model/weights.bin', meta);
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
    } finally {
      await out.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
