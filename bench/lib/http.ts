/**
 * @module http
 * The benchmark's own HTTP client: `call` (global fetch) for setup and correctness checks, every request with a
 * time limit; `sampleSequential` (node:http, one keep-alive connection) for the low-concurrency latency figures.
 */
import { Agent, request } from 'node:http';

export interface CallOptions {
  token?: string;
  json?: unknown;
  raw?: Uint8Array | string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  timeoutMs?: number;
}

export interface CallResult {
  status: number;
  headers: Headers;
  bytes: Uint8Array;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export async function call(base: string, method: string, path: string, o: CallOptions = {}): Promise<CallResult> {
  const url = new URL(path, base);
  for (const [k, v] of Object.entries(o.query ?? {})) url.searchParams.set(k, v);
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.token) headers.Authorization = `Bearer ${o.token}`;
  let body: BodyInit | undefined;
  if (o.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(o.json);
  } else if (o.raw !== undefined) {
    body = typeof o.raw === 'string' ? o.raw : new Blob([o.raw as Uint8Array<ArrayBuffer>]);
  }
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(o.timeoutMs ?? 60_000) });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, bytes, text, json };
}

/** `call`, throwing unless the status is `expect` (200 by default). */
export async function ok(base: string, method: string, path: string, o: CallOptions = {}, expect = 200): Promise<CallResult> {
  const r = await call(base, method, path, o);
  if (r.status !== expect) throw new Error(`${method} ${path} -> ${r.status} (expected ${expect}): ${r.text.slice(0, 500)}`);
  return r;
}

export interface Sample {
  ms: number[];
  /** Why sampling stopped: the count bound or the time bound. */
  stoppedBy: 'count' | 'time';
}

/**
 * Sends GET `url` one request at a time on one keep-alive connection and records each request's time to the
 * last byte of the body; stops at `maxCount` requests or after `maxMs`, whichever comes first (at least
 * `minCount`). Every answer goes through `check` (status and body); a failed check throws.
 */
export async function sampleSequential(
  url: string,
  headers: Record<string, string>,
  o: { maxCount: number; minCount: number; maxMs: number; check: (status: number, body: Buffer) => string | null },
): Promise<Sample> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const ms: number[] = [];
  const t0 = performance.now();
  try {
    for (let i = 0; i < o.maxCount; i++) {
      if (i >= o.minCount && performance.now() - t0 > o.maxMs) return { ms, stoppedBy: 'time' };
      const start = performance.now();
      const { status, body } = await get(url, headers, agent, 120_000);
      ms.push(performance.now() - start);
      const problem = o.check(status, body);
      if (problem) throw new Error(`GET ${url}: ${problem}`);
    }
    return { ms, stoppedBy: 'count' };
  } finally {
    agent.destroy();
  }
}

function get(url: string, headers: Record<string, string>, agent: Agent, timeoutMs: number): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Runs `fn` over `items` with at most `concurrency` in flight; stops (throws) at the first failure or at `deadline`. */
export async function parallel<T>(items: readonly T[], concurrency: number, deadline: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      if (Date.now() > deadline) throw new Error(`gave up after ${next} of ${items.length}: time limit reached`);
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (e) {
        failed ??= e;
        throw e;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (bad) throw failed ?? bad.reason;
}
