/**
 * @module curl-download
 * Large-download measurements with curl as the client on both sides of an A/B: a random file of known SHA-256
 * to upload, a checked download (status, exact Content-Length, not chunked, SHA-256 of the body, hashed as it
 * streams, nothing written to disk), and timed downloads to /dev/null while a process's RSS is sampled from
 * /proc. Extra curl arguments (e.g. SigV4 signing for a direct S3 GET) apply to both the check and the timing.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { runAsync } from './procs.ts';

const MiB = 1024 * 1024;
const MB = 1e6;

/** `bytes` random bytes written to `path`; returns their SHA-256 (hex). */
export async function randomFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let left = bytes; left > 0; ) {
    const chunk = randomBytes(Math.min(left, 16 * MiB));
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    left -= chunk.length;
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return hash.digest('hex');
}

/** Resident set size of a process in MB (1e6 bytes); NaN once it is gone. */
export function rssMB(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
    return (kb * 1024) / MB;
  } catch {
    return NaN;
  }
}

export interface Checked {
  status: number;
  contentLength: string | null;
  chunked: boolean;
  bytes: number;
  sha256: string;
}

/** One curl GET read to the end and hashed in this process: status, length headers, bytes, SHA-256. */
export function curlCheck(url: string, curlArgs: string[] = []): Promise<Checked> {
  return new Promise((resolve, reject) => {
    // The body to stdout; status and length headers written to stderr at the end (curl ≥ 7.84), after any error
    // of curl's own. (`-D /dev/stderr` crashes curl 7.88 when stderr is a pipe.)
    const out = '%{stderr}\nstatus=%{http_code} content-length=%header{content-length} transfer-encoding=%header{transfer-encoding}\n';
    const proc = spawn('curl', ['-sS', '-w', out, ...curlArgs, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    const hash = createHash('sha256');
    let bytes = 0;
    let head = '';
    proc.stdout.on('data', (c: Buffer) => {
      hash.update(c);
      bytes += c.length;
    });
    proc.stderr.setEncoding('utf8').on('data', (d: string) => void (head += d));
    proc.once('error', reject);
    proc.once('close', (code) => {
      if (code !== 0) return reject(new Error(`curl ${url} exited ${code}: ${head.slice(0, 500)}`));
      const m = /^status=(\d+) content-length=(\S*) transfer-encoding=(.*)$/m.exec(head);
      if (!m) return reject(new Error(`curl ${url}: no status line in ${JSON.stringify(head.slice(0, 500))}`));
      resolve({ status: Number(m[1]), contentLength: m[2] || null, chunked: /chunked/i.test(m[3]!), bytes, sha256: hash.digest('hex') });
    });
  });
}

/** One side of a download A/B: its URL, extra curl arguments, and the log tail to show when its check fails. */
export interface Side {
  name: string;
  url: string;
  args?: string[];
  tail: () => string;
}

/**
 * Correctness before any timing, on every side: status 200, `Content-Length` exactly `size` (not chunked), the
 * body's SHA-256 equal to `sha256`. Throws on the first side that fails; returns one line per side for the report.
 */
export async function checkDownloads(sides: Side[], size: number, sha256: string): Promise<string[]> {
  const lines: string[] = [];
  for (const side of sides) {
    const c = await curlCheck(side.url, side.args ?? []);
    const fine = c.status === 200 && c.contentLength === String(size) && !c.chunked && c.bytes === size && c.sha256 === sha256;
    if (!fine) throw new Error(`${side.name} download check failed: ${JSON.stringify(c)} (expected ${size} bytes, sha256 ${sha256})\n${side.tail()}`);
    lines.push(`${side.name}: 200, Content-Length ${c.contentLength} (not chunked), SHA-256 ${c.sha256.slice(0, 16)}… = the uploaded file's`);
  }
  return lines;
}

export interface TimedRun {
  seconds: number;
  mbPerS: number;
  rssBeforeMB: number;
  rssPeakMB: number;
}

/** One timed curl download (body to /dev/null), sampling `pid`'s RSS every 50 ms meanwhile. */
export async function curlTimed(url: string, size: number, pid: number | undefined, curlArgs: string[] = []): Promise<TimedRun> {
  const rssBeforeMB = rssMB(pid);
  let rssPeakMB = rssBeforeMB;
  const sampler = setInterval(() => {
    rssPeakMB = Math.max(rssPeakMB, rssMB(pid));
  }, 50);
  try {
    const r = await runAsync('curl', ['-sS', ...curlArgs, '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_total}', url], { timeoutMs: 10 * 60_000 });
    const [code, got, total] = r.stdout.trim().split(' ');
    if (r.code !== 0 || code !== '200' || Number(got) !== size) throw new Error(`curl ${url}: exit ${r.code}, status ${code}, ${got} of ${size} bytes: ${r.stderr.slice(0, 300)}`);
    const seconds = Number(total);
    return { seconds, mbPerS: size / MB / seconds, rssBeforeMB, rssPeakMB: Math.max(rssPeakMB, rssMB(pid)) };
  } finally {
    clearInterval(sampler);
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
