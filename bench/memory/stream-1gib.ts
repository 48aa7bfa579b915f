/**
 * @module stream-1gib
 * Peak RSS of the gateway while it streams one large artifact from the fs store through @hono/node-server to a
 * separate client (curl, so the client's buffers are not in our RSS). Shows that memory does not grow with the
 * object: run it for 64 MiB and for 1 GiB, each in a fresh process with a 64 MB old-space limit.
 *
 *   npx node --max-old-space-size=64 bench/memory/stream-1gib.ts 64     # MiB
 *   npx node --max-old-space-size=64 bench/memory/stream-1gib.ts 1024
 *   npx node bench/memory/stream-1gib.ts compare                         # both, fresh processes, one table
 *
 * Optional env: LIMIT_RATE (curl --limit-rate, e.g. 200M) to hold the download open longer.
 * Correctness before timing: the downloaded byte count and SHA-256 must match, or the run fails.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { serve } from '@hono/node-server';
import { createApp } from '../../src/http/app.ts';
import { createNodeDeps } from '../../src/runtime/node-deps.ts';
import { FsObjectStore } from '../../src/adapters/fs/fs-object-store.ts';
import { createMemoryKeyRing } from '../../src/adapters/memory/memory-key-ring.ts';
import { signDownloadToken } from '../../src/core/artifacts/signed-url.ts';
import { DOWNLOAD_PATH, downloadQuery } from '../../src/core/artifacts/download-url.ts';

const MiB = 1024 * 1024;

const run = promisify(execFile);

/** SHA-256 of a download, hashed by a separate `sha256sum` process reading curl's output. */
async function hashDownload(url: string): Promise<string> {
  const { stdout } = await run('sh', ['-c', 'curl -s -S -f "$0" | sha256sum', url], { maxBuffer: 1 << 20 });
  return stdout.split(' ')[0]!;
}

async function compare(): Promise<void> {
  const rows: string[] = [];
  for (const mib of [64, 1024]) {
    const { stdout } = await run(process.execPath, ['--max-old-space-size=64', new URL(import.meta.url).pathname, String(mib)], {
      env: process.env,
      maxBuffer: 1 << 20,
    });
    rows.push(stdout.trim().split('\n').pop()!);
  }
  console.log(rows.join('\n'));
}

/** Body of `size` bytes: 1 MiB blocks, each with its index stamped in, hashed as produced. */
function body(size: number, hash: ReturnType<typeof createHash>): ReadableStream<Uint8Array> {
  const block = new Uint8Array(MiB).map((_, i) => (i * 2654435761) >>> 24);
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent >= size) return c.close();
      const n = Math.min(MiB, size - sent);
      const chunk = block.slice(0, n);
      new DataView(chunk.buffer).setUint32(0, sent / MiB);
      hash.update(chunk);
      sent += n;
      c.enqueue(chunk);
    },
  });
}

async function measure(mib: number): Promise<void> {
  const size = mib * MiB;
  const dir = await mkdtemp(join(tmpdir(), 'regate-bench-'));
  try {
    const store = new FsObjectStore(dir, { durable: false });
    const source = createHash('sha256');
    const meta = await store.put('models/m/v1/model/weights.bin', body(size, source));
    const expected = source.digest('hex');
    const { deps } = await createNodeDeps({ dataDir: ':memory:', logger: { info() {}, warn() {}, error() {} } });
    const keyRing = await createMemoryKeyRing();
    const app = createApp({ ...deps, objectStore: store, keyRing, artifactKey: async () => 'models/m/v1/model/weights.bin' });
    const grant = { sub: '1', mid: 'm', ver: '1', p: 'model/weights.bin', et: meta.etag, sz: meta.size };
    const { token, claims } = await signDownloadToken(keyRing, deps.clock, grant);
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${DOWNLOAD_PATH}?${downloadQuery(claims, token)}`;

    globalThis.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const t0 = performance.now();
    // curl writes to /dev/null and reports the byte count, so the client costs this process nothing; the
    // bytes are checked afterwards by a second, hashed download (correctness before timing).
    const rate = process.env.LIMIT_RATE ? ['--limit-rate', process.env.LIMIT_RATE] : [];
    const curl = (out: string[]) => run('curl', ['-s', '-S', '-f', ...out, url, ...rate], { maxBuffer: 1 << 20, encoding: 'buffer' });
    const { stdout } = await curl(['-o', '/dev/null', '-w', '%{size_download}']);
    const bytes = Number(stdout.toString());
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    const check = await hashDownload(url);
    server.close();
    if (bytes !== size || check !== expected) throw new Error(`corrupt download: ${bytes} bytes, sha256 ${check}`);
    const mb = (n: number) => (n / 1e6).toFixed(1);
    console.log(
      `object ${String(mib).padStart(5)} MiB  rss before ${mb(before)} MB  peak ${mb(peak)} MB  growth ${mb(peak - before)} MB  ` +
        `${((size / 1e6) / seconds).toFixed(0)} MB/s  sha256 ok`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const arg = process.argv[2] ?? 'compare';
if (arg === 'compare') await compare();
else await measure(Number(arg));
