/**
 * Download clients that never read, in process (the Node entry's server, node-server.ts, over the fs store on a
 * real socket), where the store's open reads and the pump's buffers can be counted:
 * - the send timeout closes the connection and releases the file handle and every buffer it held;
 * - each stalled response pins a bounded amount of memory: 1 MiB buffers only from the process-wide budget,
 *   64 KiB ones beyond it (pump-buffers.ts), so 40 stalled clients hold far less than 40 MiB.
 */
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { systemTimers } from '../../src/core/timers.ts';
import type { FsObjectStore } from '../../src/adapters/fs/fs-object-store.ts';
import { serveWithLimits } from '../../src/runtime/node-server.ts';
import { parseServerLimits } from '../../src/runtime/server-limits.ts';
import { BIG_BUDGET, PUMP_CHUNK, pumpBufferStats, SMALL_CHUNK } from '../../src/runtime/pump-buffers.ts';
import { downloadEnv, type DownloadEnv } from '../helpers/download-env.ts';
import { pattern } from '../helpers/streams.ts';

const MiB = 1024 * 1024;
let env: DownloadEnv | undefined;
let server: Server | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  if (server) await new Promise<void>((r) => server!.close(() => r()));
  server = undefined;
  await env?.cleanup();
  env = undefined;
});

async function setUp(sendTimeoutSeconds: string) {
  env = await downloadEnv({ store: 'fs', timers: systemTimers, limits: { ttfbMs: 8000, idleMs: 8000 } });
  const meta = await env.addObject('model/big.bin', pattern(16 * MiB, 3));
  const { url } = await env.mint('model/big.bin', meta);
  const limits = parseServerLimits({ REGATE_SEND_TIMEOUT_SECONDS: sendTimeoutSeconds }, 20_000);
  server = serveWithLimits({ fetch: env.app.fetch, port: 0, hostname: '127.0.0.1', limits });
  await new Promise<void>((r) => server!.once('listening', () => r()));
  const port = (server.address() as AddressInfo).port;
  return { url, port, inner: env.inner as FsObjectStore };
}

/** A client that sends the GET, reads the status line and never reads again. */
function stall(port: number, path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`));
    sockets.push(s);
    s.on('error', () => {});
    s.once('data', (d: Buffer) => {
      s.pause();
      if (d.toString('latin1').startsWith('HTTP/1.1 200')) resolve(s);
      else reject(new Error(d.toString('latin1', 0, 100)));
    });
  });
}

async function eventually(what: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!what() && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
  return what();
}

describe('a download client that never reads', () => {
  it('is closed after the send timeout, releasing its file handle and buffers', async () => {
    const { url, port, inner } = await setUp('0.5');
    await stall(port, url);
    await new Promise((r) => setTimeout(r, 100));
    expect(inner.openReads).toBe(1); // the download is waiting on the client, with its file open
    expect(pumpBufferStats().bytesOut).toBeGreaterThan(0);
    expect(await eventually(() => inner.openReads === 0, 3000)).toBe(true);
    expect(pumpBufferStats()).toEqual({ bigOut: 0, smallOut: 0, bytesOut: 0 });
    expect(server!.listenerCount('timeout')).toBe(1);
  });

  it('pins a bounded amount of memory per connection, whatever the number of stalled clients', async () => {
    const { url, port, inner } = await setUp('60');
    const n = BIG_BUDGET + 8;
    await Promise.all(Array.from({ length: n }, () => stall(port, url)));
    await new Promise((r) => setTimeout(r, 200)); // every response has filled the kernel buffers and waits
    const held = pumpBufferStats();
    expect(held.bigOut).toBeLessThanOrEqual(BIG_BUDGET);
    // Today every stalled response holds one or two 1 MiB buffers: at least n MiB.
    expect(held.bytesOut).toBeLessThanOrEqual(BIG_BUDGET * PUMP_CHUNK + n * 2 * SMALL_CHUNK);
    expect(inner.openReads).toBe(n);
    // A client that reads still gets the whole file while the budget is spent.
    const res = await fetch(`http://127.0.0.1:${port}${url}`);
    expect((await res.arrayBuffer()).byteLength).toBe(16 * MiB);
    for (const s of sockets.splice(0)) s.destroy();
    expect(await eventually(() => inner.openReads === 0 && pumpBufferStats().bytesOut === 0, 3000)).toBe(true);
  });
});
