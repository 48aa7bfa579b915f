/**
 * The puller (`regate pull`, src/cli) against regate on a real socket, with the local (fs) store in a temp data
 * directory: every file lands verified and atomically; a second run downloads nothing; bytes corrupted on disk
 * after registration (bit rot: same size, same mtime, so the store still serves its old ETag) are caught by the
 * SHA-256 check and the file is named, with nothing left at its path; a connection cut mid-file is resumed with
 * Range; URIs that expired between the manifest and the downloads are refreshed by one re-read of the manifest;
 * and the `bin` entry (`npx regate pull`) exits 0 / 1 naming the bad file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, open, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { createNodeDeps } from '../../src/runtime/node-deps.ts';
import { serveWithLimits } from '../../src/runtime/node-server.ts';
import { parseServerLimits } from '../../src/runtime/server-limits.ts';
import { manualClock } from '../../src/core/clock.ts';
import type { Logger } from '../../src/core/ports.ts';
import { pull, type PullReport } from '../../src/cli/pull.ts';
import { PARTIAL_SUFFIX } from '../../src/cli/pull-file.ts';

const ADMIN = 'dapi-pull-admin-0123456789abcdef0';
const AREA = '/databricks/mlflow/tmp-external-source';
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const noDelay = () => 0;

let dataDir: string;
let work: string;
let url: string;
let http: Server;
let made: Awaited<ReturnType<typeof createNodeDeps>>;
const clock = manualClock(Date.UTC(2026, 11, 1, 3, 0, 0));
const files: Record<string, Buffer> = {};

async function api(method: string, path: string, body?: unknown, raw?: Uint8Array): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(raw ? { body: raw as Uint8Array<ArrayBuffer> } : body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

async function registerModel(name: string, model: Record<string, Buffer>): Promise<string> {
  await api('POST', '/api/2.0/mlflow/registered-models/create', { name });
  for (const [rel, b] of Object.entries(model)) await api('POST', `/dbfs${AREA}/${name}/model/${rel}`, undefined, b);
  const v = await api('POST', '/api/2.0/mlflow/model-versions/create', { name, source: `dbfs:${AREA}/${name}/model` });
  return String(v.model_version.version);
}

async function expectTree(dir: string, want: Record<string, Buffer>) {
  for (const [rel, b] of Object.entries(want)) expect(sha(await readFile(join(dir, rel))), rel).toBe(sha(b));
  const all = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile());
  expect(all.filter((d) => d.name.endsWith(PARTIAL_SUFFIX))).toEqual([]);
  expect(all).toHaveLength(Object.keys(want).length);
}

/** Counts the requests the puller makes, by kind. */
function countingFetch() {
  const seen = { manifest: 0, download: 0 };
  const f = (input: string | URL, init?: RequestInit) => {
    const u = String(input);
    if (u.includes('/model-versions/manifest')) seen.manifest++;
    if (u.includes('/artifacts/download')) seen.download++;
    return fetch(input, init);
  };
  return { seen, fetch: f };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'regate-pull-data-'));
  work = await mkdtemp(join(tmpdir(), 'regate-pull-out-'));
  made = await createNodeDeps({ dataDir, env: { REGATE_ADMIN_TOKEN: ADMIN, REGATE_SWEEP_INTERVAL_SECONDS: '0' }, clock, logger: quiet });
  http = serveWithLimits({ fetch: createApp(made.deps).fetch, port: 0, hostname: '127.0.0.1', limits: parseServerLimits({}, 20_000), logger: quiet });
  await new Promise<void>((r) => (http.listening ? r() : http.once('listening', () => r())));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  for (let i = 0; i < 40; i++) files[`data/part-${String(i).padStart(3, '0')}.bin`] = randomBytes(1000 + i * 37);
  files.MLmodel = Buffer.from('flavors: {}\n');
  files['weights/big.bin'] = randomBytes(3 * 1024 * 1024 + 5);
  files['empty.txt'] = Buffer.alloc(0);
  await registerModel('p', files);
}, 60_000);

afterAll(async () => {
  http?.closeAllConnections();
  await new Promise<void>((r) => (http ? http.close(() => r()) : r()));
  await made?.close();
  await rm(dataDir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

describe('regate pull', () => {
  it('downloads every file verified, with one manifest call; a second run downloads nothing', async () => {
    const dir = join(work, 'full');
    const c = countingFetch();
    const r = await pull({ host: url, token: ADMIN, modelUri: 'models:/p/1', dir, fetch: c.fetch, retryDelayMs: noDelay });
    expect(r.failed).toEqual([]);
    expect(r).toMatchObject({ files: 43, outcomes: { downloaded: 43, resumed: 0, present: 0 }, unverified: [], manifestFetches: 1 });
    expect(c.seen).toEqual({ manifest: 1, download: 43 });
    await expectTree(dir, files);
    const again = countingFetch();
    const r2 = await pull({ host: url, token: ADMIN, modelUri: 'models:/p/latest', dir, fetch: again.fetch });
    expect(r2.outcomes).toEqual({ downloaded: 0, resumed: 0, present: 43 });
    expect(again.seen.download).toBe(0);
  });

  it('resumes a file whose connection was cut, with Range from what it already has', async () => {
    // A proxy in front of regate that cuts the first download of big.bin after about 1 MiB of body.
    const ranges: string[] = [];
    let cut = false;
    const upstream = new URL(url);
    const proxy = createServer((req, res) => {
      const isBig = req.url!.includes('big.bin') && req.url!.includes('/artifacts/download');
      if (isBig) ranges.push(req.headers.range ?? '');
      const up = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (ur) => {
        res.writeHead(ur.statusCode!, ur.headers);
        let sent = 0;
        ur.on('data', (chunk: Buffer) => {
          if (isBig && !cut && sent + chunk.length > 1024 * 1024) {
            cut = true;
            res.write(chunk.subarray(0, 1024 * 1024 - sent));
            setImmediate(() => res.socket?.destroy());
            ur.destroy();
            return;
          }
          sent += chunk.length;
          res.write(chunk);
        });
        ur.on('end', () => res.end());
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    try {
      const host = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const dir = join(work, 'resume');
      const r = await pull({ host, token: ADMIN, modelUri: 'models:/p/1', dir, retryDelayMs: noDelay, concurrency: 4 });
      expect(r.failed).toEqual([]);
      expect(cut).toBe(true);
      expect(r.outcomes.resumed).toBe(1);
      // The resume asks for the rest from what reached the partial file: at most the 1 MiB the proxy let through,
      // possibly less (fetch drops chunks that arrived but were not yet read when the socket was cut).
      expect(ranges).toHaveLength(2);
      expect(ranges[0]).toBe('');
      const from = Number(/^bytes=(\d+)-$/.exec(ranges[1]!)?.[1]);
      expect(from).toBeGreaterThan(0);
      expect(from).toBeLessThanOrEqual(1024 * 1024);
      await expectTree(dir, files);
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });

  it('re-reads the manifest once when the URIs expired before the downloads', async () => {
    const dir = join(work, 'expiry');
    const c = countingFetch();
    let advanced = false;
    const expiring = async (input: string | URL, init?: RequestInit) => {
      const res = await c.fetch(input, init);
      // The manifest arrives; then 10 minutes pass on the server before any download starts.
      if (!advanced && String(input).includes('/model-versions/manifest')) {
        advanced = true;
        clock.advance(600_000);
      }
      return res;
    };
    const r = await pull({ host: url, token: ADMIN, modelUri: 'models:/p/1', dir, fetch: expiring, retryDelayMs: noDelay });
    expect(r.failed).toEqual([]);
    expect(r.manifestFetches).toBe(2);
    expect(c.seen.manifest).toBe(2);
    // Each of the 16 first downloads met a 401 once; every file then downloaded with a fresh URI.
    expect(c.seen.download).toBe(43 + 16);
    await expectTree(dir, files);
  });

  it('catches bytes corrupted on disk after registration, names the file, leaves nothing at its path', async () => {
    const bad = { 'a.bin': randomBytes(200_000), 'b.bin': randomBytes(10) };
    await registerModel('rot', bad);
    const row = await made.db
      .prepare("SELECT a.object_key FROM artifacts a JOIN model_versions v ON v.storage_id = a.storage_id JOIN registered_models m ON m.id = v.model_id WHERE m.name = 'rot' AND a.path = 'a.bin'")
      .first<{ object_key: string }>();
    const onDisk = join(dataDir, 'artifacts', ...row!.object_key.split('/'));
    // Bit rot keeps size and mtime: pin the mtime to a whole second and let the store see it once, then flip
    // bytes in place and put the same mtime back. The store keeps serving its ETag (as it would after a disk fault).
    const pinned = new Date(Math.floor((await stat(onDisk)).mtimeMs / 1000) * 1000);
    await utimes(onDisk, pinned, pinned);
    expect((await made.deps.objectStore!.head(row!.object_key))!.etag).toBe(`"${sha(bad['a.bin'])}"`);
    const fh = await open(onDisk, 'r+');
    await fh.write(Buffer.from([bad['a.bin'][77]! ^ 0xff]), 0, 1, 77);
    await fh.close();
    await utimes(onDisk, pinned, pinned);
    expect((await made.deps.objectStore!.head(row!.object_key))!.etag).toBe(`"${sha(bad['a.bin'])}"`);

    const dir = join(work, 'rot');
    const r: PullReport = await pull({ host: url, token: ADMIN, modelUri: 'models:/rot/1', dir, retryDelayMs: noDelay, attempts: 2 });
    expect(r.failed).toEqual([{ path: 'a.bin', error: expect.stringMatching(new RegExp(`^SHA-256 mismatch: expected ${sha(bad['a.bin'])}, got [0-9a-f]{64}$`)) }]);
    await expect(stat(join(dir, 'a.bin'))).rejects.toThrow(/ENOENT/);
    await expect(stat(join(dir, `a.bin${PARTIAL_SUFFIX}`))).rejects.toThrow(/ENOENT/);
    expect(sha(await readFile(join(dir, 'b.bin')))).toBe(sha(bad['b.bin']));

    // The command: `npx regate pull` through package.json's bin, on the project's Node.
    const run = (modelUri: string, out: string) =>
      promisify(execFile)('npx', ['--offline', 'regate', 'pull', modelUri, out], {
        cwd: join(import.meta.dirname, '../..'),
        env: { ...process.env, DATABRICKS_HOST: url, DATABRICKS_TOKEN: ADMIN },
      }).then(
        (o) => ({ code: 0, ...o }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );
    const failed = await run('models:/rot/1', join(work, 'rot-cli'));
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stderr).toMatch(/1 file\(s\) failed:\n {2}a\.bin: SHA-256 mismatch/);
    const ok = await run('models:/p/1', join(work, 'cli'));
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^p version 1: 43\/43 files ok/);
  }, 60_000);
});
