/**
 * @module stream-1gib
 * Large-object streaming, regate against its references, in one run on the same files:
 *
 * - **regate**: the Node entry's download path (createNodeDeps → nodeResponder: the fs read stream piped into
 *   the ServerResponse), a real signed URI, FsObjectStore with its 1 MiB reads;
 * - **raw**: `node:http` + `fs.createReadStream(file, {start, end, highWaterMark: 1 MiB}).pipe(res)` with single
 *   ranges, the floor a Node gateway can reach;
 * - **nginx** (when installed): one worker serving the same file, `sendfile on; tcp_nopush on` and `sendfile off`.
 *
 * Measured, every server a separate process on 127.0.0.1, clients are curl processes writing to /dev/null:
 * 1. correctness first: the full body and each of 8 ranges of every server must match the SHA-256 computed when
 *    the file was written, or the run fails before any timing;
 * 2. single-stream throughput of the large file (one warm-up, then the median of several runs, servers
 *    interleaved so noise spreads evenly) and 8 parallel ranges of it (8 `curl -r` processes, wall time);
 * 3. peak RSS (the kernel's VmHWM of a fresh server process) with C concurrent full downloads of a 64 MiB and
 *    of a 1 GiB file, regate against raw at the same concurrency and chunk size.
 *
 *   node bench/memory/stream-1gib.ts            # 1 GiB + 64 MiB, 64 concurrent; a few minutes on 2 cores
 *   node bench/memory/stream-1gib.ts --smoke    # a few MiB, 8 concurrent; seconds (CI)
 *
 * Options: --runs N (timed runs per throughput figure), --concurrency N, --no-nginx, --keep (leave temp files).
 * Prints a table, then one line of JSON (the last line of stdout) for the bench runner.
 * On a 2-core machine client and server share the cores: expect ±30 % between passes (performance-notes §2).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, createReadStream, mkdirSync, openSync, readFileSync, statSync, writeSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const MiB = 1024 * 1024;
const HWM = MiB; // the fs store's read size (READ_HIGH_WATER_MARK), and the raw pipe's
const KEY_DIR = 'models/m/v1/model';
const SELF = fileURLToPath(import.meta.url);
const run = promisify(execFile);

// ---------------------------------------------------------------------------------------------------------
// Server processes (this file, started with --serve <kind>)
// ---------------------------------------------------------------------------------------------------------

interface ServeSpec {
  kind: 'regate' | 'raw';
  /** Store root (regate) or directory of the files (raw). */
  root: string;
  /** File name under KEY_DIR. */
  name: string;
}

/** Writes `{"port":…,"path":"…"}` on one line once listening. */
async function serveRegate(spec: ServeSpec): Promise<void> {
  const { serve } = await import('@hono/node-server');
  const { createApp } = await import('../../src/http/app.ts');
  const { createNodeDeps } = await import('../../src/runtime/node-deps.ts');
  const { FsObjectStore } = await import('../../src/adapters/fs/fs-object-store.ts');
  const { createMemoryKeyRing } = await import('../../src/adapters/memory/memory-key-ring.ts');
  const { signDownloadToken } = await import('../../src/core/artifacts/signed-url.ts');
  const { DOWNLOAD_PATH, downloadQuery } = await import('../../src/core/artifacts/download-url.ts');
  const key = `${KEY_DIR}/${spec.name}`;
  const store = new FsObjectStore(spec.root, { durable: false });
  const meta = await store.head(key);
  if (!meta) throw new Error(`no object ${key}`);
  const silent = { info() {}, warn() {}, error() {} };
  const { deps } = await createNodeDeps({ dataDir: ':memory:', env: { REGATE_SIGNED_URI_TTL_SECONDS: '900' }, logger: silent });
  const keyRing = await createMemoryKeyRing();
  // As the Node entry (src/runtime/node.ts) builds it; the key resolver is fixed (no registry rows needed).
  const app = createApp(
    { ...deps, objectStore: store, keyRing, artifactKey: async () => key },
    { rawTarget: (c) => (c.env as { incoming?: IncomingMessage }).incoming?.url },
  );
  const grant = { sub: '1', mid: 'm', ver: '1', p: `model/${spec.name}`, et: meta.etag, sz: meta.size };
  const { token, claims } = await signDownloadToken(keyRing, deps.clock, grant, { ttlSeconds: 900 });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ port, path: `${DOWNLOAD_PATH}?${downloadQuery(claims, token)}` })}\n`);
}

/** node:http + fs.createReadStream(…, 1 MiB).pipe(res), with a single Range. */
async function serveRaw(spec: ServeSpec): Promise<void> {
  const file = join(spec.root, KEY_DIR, spec.name);
  const size = statSync(file).size;
  const server = createHttpServer((req, res) => {
    let start = 0;
    let end = size - 1;
    const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (m && (m[1] || m[2])) {
      if (m[1]) {
        start = Number(m[1]);
        if (m[2]) end = Math.min(Number(m[2]), size - 1);
      } else start = Math.max(0, size - Number(m[2]));
      res.writeHead(206, { 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${size}`, 'Content-Type': 'application/octet-stream' });
    } else {
      res.writeHead(200, { 'Content-Length': size, 'Content-Type': 'application/octet-stream' });
    }
    const src = createReadStream(file, { start, end, highWaterMark: HWM });
    src.pipe(res);
    res.on('close', () => src.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ port, path: `/${KEY_DIR}/${spec.name}` })}\n`);
}

// ---------------------------------------------------------------------------------------------------------
// Orchestration
// ---------------------------------------------------------------------------------------------------------

interface TestFile {
  name: string;
  size: number;
  sha256: string;
  /** SHA-256 of each of the 8 equal ranges. */
  parts: Array<{ start: number; end: number; sha256: string }>;
}

/** Writes `size` random bytes under KEY_DIR (readable by nginx's worker), hashing the whole and 8 parts. */
function makeFile(root: string, name: string, size: number): TestFile {
  const dir = join(root, KEY_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const path = join(dir, name);
  const fd = openSync(path, 'w', 0o644);
  const whole = createHash('sha256');
  const partSize = Math.ceil(size / 8);
  const parts: TestFile['parts'] = [];
  let part = createHash('sha256');
  let partStart = 0;
  const block = Buffer.allocUnsafe(MiB);
  try {
    for (let at = 0; at < size; ) {
      const partEnd = Math.min(partStart + partSize, size); // exclusive
      const n = Math.min(block.length, partEnd - at);
      const chunk = block.subarray(0, n);
      randomFillSync(chunk);
      whole.update(chunk);
      part.update(chunk);
      for (let off = 0; off < n; ) off += writeSync(fd, chunk, off, n - off);
      at += n;
      if (at === partEnd) {
        parts.push({ start: partStart, end: partEnd - 1, sha256: part.digest('hex') });
        part = createHash('sha256');
        partStart = partEnd;
      }
    }
  } finally {
    closeSync(fd);
  }
  return { name, size, sha256: whole.digest('hex'), parts };
}

interface Server {
  label: string;
  /** The URL of `file` on this server. */
  url(file: TestFile): string;
  pid?: number;
  stop(): Promise<void>;
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts a Node server process serving `file`; resolves once it listens. */
async function startNode(kind: ServeSpec['kind'], root: string, file: TestFile): Promise<Server & { pid: number }> {
  const spec: ServeSpec = { kind, root, name: file.name };
  const child = spawn(process.execPath, [SELF, '--serve', JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited (${code}) before listening`)));
  });
  const { port, path } = JSON.parse(line) as { port: number; path: string };
  return {
    label: kind,
    pid: child.pid!,
    url: (f) => {
      if (f.name !== file.name) throw new Error(`${kind} serves ${file.name} only`);
      return `http://127.0.0.1:${port}${path}`;
    },
    stop: async () => {
      child.kill('SIGTERM');
      await waitExit(child);
    },
  };
}

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function waitListening(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error('nginx exited at start (see its error log)');
    try {
      await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/`]);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`nginx did not listen on ${port}`);
}

/** nginx with two servers on 127.0.0.1 (sendfile on / off), one worker, its own prefix; null when absent. */
async function startNginx(root: string, prefix: string): Promise<[Server, Server] | null> {
  const bin = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'].find((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
  if (!bin) return null;
  mkdirSync(join(prefix, 'tmp'), { recursive: true });
  const on = await freePort();
  const off = await freePort();
  const temp = ['client_body', 'proxy', 'fastcgi'].map((t) => `  ${t}_temp_path ${join(prefix, 'tmp', t)};`).join('\n');
  const conf = `
daemon off;
master_process on;
worker_processes 1;
${process.getuid?.() === 0 ? 'user root;' : ''}
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/octet-stream;
${temp}
  server { listen 127.0.0.1:${on}; root ${root}; sendfile on; tcp_nopush on; }
  server { listen 127.0.0.1:${off}; root ${root}; sendfile off; }
}
`;
  const confPath = join(prefix, 'nginx.conf');
  writeFileSync(confPath, conf);
  const child = spawn(bin, ['-c', confPath, '-p', prefix], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await waitListening(on, child);
    await waitListening(off, child);
  } catch (e) {
    child.kill('SIGTERM');
    await waitExit(child);
    process.stderr.write(`nginx skipped: ${(e as Error).message}\n${readFileOr(join(prefix, 'error.log'))}`);
    return null;
  }
  let stopped: Promise<void> | undefined;
  // Stop the master we started, by its PID (it stops its worker).
  const stop = () => (stopped ??= (child.kill('SIGQUIT'), waitExit(child)));
  const server = (label: string, port: number): Server => ({
    label,
    url: (f) => `http://127.0.0.1:${port}/${KEY_DIR}/${f.name}`,
    stop,
  });
  return [server('nginx sendfile on', on), server('nginx sendfile off', off)];
}

function readFileOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

// --- clients ------------------------------------------------------------------------------------------------

async function curlHash(url: string, range?: { start: number; end: number }): Promise<string> {
  const r = range ? `-r ${range.start}-${range.end}` : '';
  const { stdout } = await run('sh', ['-c', `curl -s -S -f ${r} "$0" | sha256sum`, url], { maxBuffer: 1 << 20 });
  return stdout.split(' ')[0]!;
}

/** Full body and the 8 ranges must hash right; throws otherwise. */
async function verify(server: Server, f: TestFile): Promise<void> {
  const url = server.url(f);
  const full = await curlHash(url);
  if (full !== f.sha256) throw new Error(`${server.label}: full download of ${f.name} has the wrong SHA-256`);
  const parts = await Promise.all(f.parts.map((p) => curlHash(url, p)));
  parts.forEach((h, i) => {
    if (h !== f.parts[i]!.sha256) throw new Error(`${server.label}: range ${i} of ${f.name} has the wrong SHA-256`);
  });
}

/** One curl to /dev/null; returns the bytes received. */
async function curlNull(url: string, range?: { start: number; end: number }): Promise<number> {
  const args = ['-s', '-S', '-f', '-o', '/dev/null', '-w', '%{size_download}', ...(range ? ['-r', `${range.start}-${range.end}`] : []), url];
  const { stdout } = await run('curl', args, { maxBuffer: 1 << 20 });
  return Number(stdout);
}

/** Single stream, MB/s (10^6 bytes/s): curl's own speed_download, as in performance-notes §2.1. */
async function singleStream(server: Server, f: TestFile): Promise<number> {
  const { stdout } = await run('curl', ['-s', '-S', '-f', '-o', '/dev/null', '-w', '%{size_download} %{speed_download}', server.url(f)]);
  const [n, speed] = stdout.trim().split(' ').map(Number) as [number, number];
  if (n !== f.size) throw new Error(`${server.label}: got ${n} of ${f.size} bytes`);
  return speed / 1e6;
}

/** 8 parallel ranges covering the file, aggregate MB/s by wall time. */
async function eightRanges(server: Server, f: TestFile): Promise<number> {
  const url = server.url(f);
  const t = performance.now();
  const got = await Promise.all(f.parts.map((p) => curlNull(url, p)));
  const s = (performance.now() - t) / 1000;
  const total = got.reduce((a, b) => a + b, 0);
  if (total !== f.size) throw new Error(`${server.label}: 8 ranges gave ${total} of ${f.size} bytes`);
  return f.size / 1e6 / s;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** kB values from /proc/<pid>/status. */
function procStatus(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024 };
}

interface RssResult {
  /** RSS after one warm-up download, before the load. */
  idle: number;
  /** Peak RSS of the process (VmHWM) over its life, load included. */
  peak: number;
  seconds: number;
}

/** A fresh server process, one warm-up download, then `concurrency` full downloads at once. */
async function peakRss(kind: ServeSpec['kind'], root: string, f: TestFile, concurrency: number): Promise<RssResult> {
  const server = await startNode(kind, root, f);
  try {
    await curlNull(server.url(f), { start: 0, end: Math.min(f.size, 4 * MiB) - 1 });
    await new Promise((r) => setTimeout(r, 200));
    const idle = procStatus(server.pid).rss;
    const t = performance.now();
    const got = await Promise.all(Array.from({ length: concurrency }, () => curlNull(server.url(f))));
    const seconds = (performance.now() - t) / 1000;
    if (got.some((n) => n !== f.size)) throw new Error(`${kind}: a concurrent download was incomplete`);
    return { idle, peak: procStatus(server.pid).hwm, seconds };
  } finally {
    await server.stop();
  }
}

function parseArgs(argv: string[]) {
  const flag = (name: string) => argv.includes(name);
  const num = (name: string, dflt: number) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  const smoke = flag('--smoke');
  return {
    smoke,
    runs: num('--runs', smoke ? 1 : 5),
    concurrency: num('--concurrency', smoke ? 8 : 64),
    nginx: !flag('--no-nginx'),
    keep: flag('--keep'),
    /** [small, large] object sizes for the RSS runs; the large one is also the throughput file. */
    sizes: smoke ? [2 * MiB, 8 * MiB] : [64 * MiB, 1024 * MiB],
  };
}

const mb = (bytes: number) => Math.round(bytes / MiB);
const r2 = (x: number) => Math.round(x * 100) / 100;

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const dir = await mkdtemp(join(tmpdir(), 'regate-stream-bench-'));
  const root = join(dir, 'store');
  const servers: Server[] = [];
  try {
    const log = (s: string) => process.stdout.write(`${s}\n`);
    const [small, large] = opts.sizes.map((size) => makeFile(root, `${mb(size)}mib.bin`, size)) as [TestFile, TestFile];
    log(`files: ${mb(small.size)} MiB and ${mb(large.size)} MiB of random bytes in ${root}; ${opts.runs} timed run(s) per figure`);

    // 1. Correctness before timing, on every server.
    const regate = await startNode('regate', root, large);
    const raw = await startNode('raw', root, large);
    servers.push(regate, raw);
    const nginx = opts.nginx ? await startNginx(root, join(dir, 'nginx')) : null;
    if (nginx) servers.push(...nginx);
    for (const s of servers) await verify(s, large);
    log(`sha256 ok (full + 8 ranges): ${servers.map((s) => s.label).join(', ')}`);

    // 2. Throughput: one warm-up each, then interleaved timed runs.
    const single = new Map<string, number[]>(servers.map((s) => [s.label, []]));
    const ranges = new Map<string, number[]>(servers.map((s) => [s.label, []]));
    for (const s of servers) await singleStream(s, large);
    for (let i = 0; i < opts.runs; i++) {
      for (const s of servers) single.get(s.label)!.push(await singleStream(s, large));
      for (const s of servers) ranges.get(s.label)!.push(await eightRanges(s, large));
    }
    for (const s of servers.splice(0)) await s.stop();

    // 3. Peak RSS, fresh processes, raw and regate alternating.
    const rss: Record<string, { regate: RssResult; raw: RssResult }> = {};
    for (const f of [small, large]) {
      const rawR = await peakRss('raw', root, f, opts.concurrency);
      const regR = await peakRss('regate', root, f, opts.concurrency);
      rss[String(mb(f.size))] = { regate: regR, raw: rawR };
    }

    // Report.
    const med = (m: Map<string, number[]>, label: string) => (m.has(label) ? median(m.get(label)!) : null);
    const labels = ['regate', 'raw', 'nginx sendfile on', 'nginx sendfile off'];
    const tput = Object.fromEntries(labels.map((l) => [l, { single: med(single, l), ranges8: med(ranges, l) }]));
    const ratio = (a: number | null, b: number | null) => (a === null || b === null ? null : r2(a / b));
    const reg = tput.regate!;
    log('');
    log(`throughput, ${mb(large.size)} MiB, MB/s (median of ${opts.runs}; all runs in brackets)`);
    log('server               single stream               8 parallel ranges');
    for (const l of labels) {
      if (!single.has(l)) continue;
      const fmt = (m: Map<string, number[]>) =>
        `${med(m, l)!.toFixed(0).padStart(5)} [${m.get(l)!.map((x) => x.toFixed(0)).join(' ')}]`.padEnd(28);
      log(`${l.padEnd(20)} ${fmt(single)}${fmt(ranges)}`);
    }
    log('');
    log('ratio regate / other    single  8 ranges   (goal vs nginx: >= 0.9)');
    for (const l of labels.slice(1)) {
      if (!single.has(l)) continue;
      log(`${l.padEnd(22)} ${String(ratio(reg.single, tput[l]!.single)).padStart(6)} ${String(ratio(reg.ranges8, tput[l]!.ranges8)).padStart(9)}`);
    }
    log('');
    log(`peak RSS (VmHWM), ${opts.concurrency} concurrent full downloads, MiB (goal: regate/raw <= 1.05, flat in size)`);
    log('object     raw idle  raw peak   regate idle  regate peak   regate/raw');
    for (const [size, v] of Object.entries(rss)) {
      log(
        `${`${size} MiB`.padEnd(10)} ${String(mb(v.raw.idle)).padStart(8)} ${String(mb(v.raw.peak)).padStart(9)}` +
          `   ${String(mb(v.regate.idle)).padStart(11)} ${String(mb(v.regate.peak)).padStart(12)}   ${String(ratio(v.regate.peak, v.raw.peak)).padStart(10)}`,
      );
    }
    const sizes = Object.keys(rss);
    const flat = ratio(rss[sizes[1]!]!.regate.peak, rss[sizes[0]!]!.regate.peak);
    log(`regate peak ${sizes[1]} MiB / ${sizes[0]} MiB: ${flat}`);

    const result = {
      bench: 'stream-1gib',
      smoke: opts.smoke,
      ok: true,
      unit: { throughput: 'MB/s (1e6 B/s)', rss: 'bytes' },
      sizeBytes: large.size,
      runs: opts.runs,
      concurrency: opts.concurrency,
      throughput: {
        single: Object.fromEntries([...single].map(([l, xs]) => [l, { median: r2(median(xs)), runs: xs.map(r2) }])),
        ranges8: Object.fromEntries([...ranges].map(([l, xs]) => [l, { median: r2(median(xs)), runs: xs.map(r2) }])),
      },
      ratios: {
        singleVsRaw: ratio(reg.single, tput.raw!.single),
        ranges8VsRaw: ratio(reg.ranges8, tput.raw!.ranges8),
        singleVsNginxSendfileOn: ratio(reg.single, tput['nginx sendfile on']?.single ?? null),
        singleVsNginxSendfileOff: ratio(reg.single, tput['nginx sendfile off']?.single ?? null),
        ranges8VsNginxSendfileOn: ratio(reg.ranges8, tput['nginx sendfile on']?.ranges8 ?? null),
        ranges8VsNginxSendfileOff: ratio(reg.ranges8, tput['nginx sendfile off']?.ranges8 ?? null),
        ...Object.fromEntries(Object.entries(rss).map(([size, v]) => [`rssPeakVsRaw${size}MiB`, ratio(v.regate.peak, v.raw.peak)])),
        rssPeakLargeVsSmall: flat,
      },
      rss: Object.fromEntries(
        Object.entries(rss).map(([size, v]) => [`${size}MiB`, { regate: v.regate, raw: v.raw }]),
      ),
    };
    console.log(JSON.stringify(result));
  } finally {
    for (const s of servers) await s.stop().catch(() => {});
    if (!opts.keep) await rm(dir, { recursive: true, force: true });
  }
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) {
  const spec = JSON.parse(process.argv[serveAt + 1]!) as ServeSpec;
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await (spec.kind === 'regate' ? serveRegate(spec) : serveRaw(spec));
} else {
  try {
    await main();
  } catch (e) {
    process.stderr.write(`stream-1gib failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    console.log(JSON.stringify({ bench: 'stream-1gib', ok: false, error: e instanceof Error ? e.message : String(e) }));
    process.exitCode = 1;
  }
}
