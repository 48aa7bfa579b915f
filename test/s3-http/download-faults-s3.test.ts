/**
 * Upstream faults on the S3 path (range-and-signing §6: T13, T17–T20, and the P11 answer checks): regate's
 * Node server over its S3 store, talking to the real S3 server through the fault proxy, observed with node:http
 * as the client. Budgets are short real times (the S3 SDK's socket timers cannot be injected); the tests wait
 * on events (the proxy's `until`, the client's end), never on sleeps.
 */
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { startFaultProxy, type Answer, type FaultProxy } from '../helpers/s3-fault-proxy.ts';
import { useS3Server } from '../helpers/s3-use-server.ts';
import { fetchRaw, startS3Regate, type S3Regate } from '../helpers/s3-regate.ts';
import { pattern } from '../helpers/streams.ts';

const MiB = 1024 * 1024;
const N = 64 * 1024;
const OBJ = pattern(N, 17);

const s3 = useS3Server();
let proxy: FaultProxy | undefined;
let r: S3Regate | undefined;

afterEach(async () => {
  await r?.close();
  await proxy?.close();
  r = proxy = undefined;
});

/**
 * regate through a fresh fault proxy, with one registered file `f` of `bytes`. Defaults: one attempt per S3
 * request (each fault is seen once), S3 timeouts longer than the route's budgets unless a test says otherwise.
 */
async function setUp(bytes: Uint8Array = OBJ, o: { env?: Record<string, string>; download?: { ttfbMs?: number; idleMs?: number } } = {}) {
  proxy = await startFaultProxy(s3().endpoint);
  r = await startS3Regate(s3(), {
    endpoint: proxy.endpoint,
    env: { REGATE_S3_MAX_ATTEMPTS: '1', REGATE_S3_REQUEST_TIMEOUT_MS: '20000', ...o.env },
    download: { ttfbMs: 8000, idleMs: 5000, ...o.download },
  });
  const version = await r.register('m', { f: bytes });
  const uri = await r.signedUri('m', version, 'f');
  return { uri, proxy, r };
}

function errorOf(body: Buffer): { error_code: string; message: string } {
  return JSON.parse(body.toString());
}

/** Still serving: a whole download after the fault is correct. */
async function stillServes(uri: string, bytes: Uint8Array) {
  proxy!.rules.length = 0;
  const ok = await fetchRaw(uri);
  expect(ok.status).toBe(200);
  expect(Buffer.compare(ok.body, Buffer.from(bytes))).toBe(0);
}

describe('T17 upstream status mapping on S3 (before headers)', () => {
  it.each([
    ['503 SlowDown with Retry-After → 503 + Retry-After', { kind: 'status', status: 503, code: 'SlowDown', retryAfter: '7' }, 503, 'TEMPORARILY_UNAVAILABLE', '7'],
    ['500 InternalError → 502', { kind: 'status', status: 500, code: 'InternalError' }, 502, 'IO_ERROR', undefined],
    ['403 AccessDenied (regate\'s credentials) → 502, not 403', { kind: 'status', status: 403, code: 'AccessDenied' }, 502, 'IO_ERROR', undefined],
  ] as const)('%s, JSON, no leak', async (_name, fault, status, code, retryAfter) => {
    const { uri, proxy } = await setUp();
    proxy.rules.push({ fault });
    for (const headers of [{}, { Range: 'bytes=0-9' }] as Array<Record<string, string>>) {
      const got = await fetchRaw(uri, headers);
      expect(got.status).toBe(status);
      expect(got.headers['retry-after']).toBe(retryAfter);
      expect(got.headers['content-range']).toBeUndefined();
      const text = got.body.toString();
      expect(errorOf(got.body).error_code).toBe(code);
      for (const secret of [r!.bucket, 'registry/', s3().accessKeyId, 'InternalError', 'AccessDenied', 'SlowDown']) expect(text).not.toContain(secret);
    }
    await stillServes(uri, OBJ);
  });

  it('NoSuchKey (the object is gone from the bucket) → 404', async () => {
    const { uri } = await setUp();
    const key = ((await r!.s3.send(new ListObjectsV2Command({ Bucket: r!.bucket, Prefix: 'registry/' }))).Contents ?? [])[0]!.Key!;
    await r!.s3.send(new DeleteObjectCommand({ Bucket: r!.bucket, Key: key }));
    const got = await fetchRaw(uri);
    expect(got.status).toBe(404);
    expect(errorOf(got.body).error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('a TTFB over REGATE_S3_REQUEST_TIMEOUT_MS → 504, and the store sees the request dropped', async () => {
    const { uri, proxy } = await setUp(OBJ, { env: { REGATE_S3_REQUEST_TIMEOUT_MS: '300' } });
    proxy.rules.push({ fault: { kind: 'hang' } });
    const got = await fetchRaw(uri);
    expect(got.status).toBe(504);
    expect(errorOf(got.body).error_code).toBe('DEADLINE_EXCEEDED');
    await proxy.until(() => proxy.stats.closedEarly >= 1, 2000);
  });

  it('a 503 that clears within the SDK\'s retries is a normal download (the client never sees it)', async () => {
    const { uri, proxy } = await setUp(OBJ, { env: { REGATE_S3_MAX_ATTEMPTS: '3' } });
    proxy.rules.push({ fault: { kind: 'status', status: 503, code: 'SlowDown' }, times: 1 });
    const got = await fetchRaw(uri, { Range: 'bytes=10-19' });
    expect(got.status).toBe(206);
    expect(Buffer.compare(got.body, Buffer.from(OBJ.subarray(10, 20)))).toBe(0);
    expect(proxy.stats.faulted).toBe(1);
  });
});

describe('P11: every S3 answer is checked before it is relayed', () => {
  const ranged = { Range: 'bytes=100-199' };
  const lies: Array<[string, Record<string, string>, (a: Answer) => Answer]> = [
    ['200 with the whole object for a range', ranged, (a) => ({ status: 200, headers: { ...strip(a.headers, 'content-range'), 'content-length': String(N) }, body: Buffer.from(OBJ) })],
    ['206 for another range', ranged, (a) => ({ ...a, headers: { ...a.headers, 'content-range': `bytes 101-200/${N}` } })],
    ['206 with an unknown complete length', ranged, (a) => ({ ...a, headers: { ...a.headers, 'content-range': 'bytes 100-199/*' } })],
    ['206 with another complete length', ranged, (a) => ({ ...a, headers: { ...a.headers, 'content-range': `bytes 100-199/${N + 1}` } })],
    ['a Content-Length one short', ranged, (a) => ({ ...a, headers: { ...a.headers, 'content-length': '99' }, body: a.body.subarray(0, 99) })],
    ['another ETag', ranged, (a) => ({ ...a, headers: { ...a.headers, etag: '"0123456789abcdef0123456789abcdef"' } })],
    ['206 for a whole-object read', {}, (a) => ({ status: 206, headers: { ...a.headers, 'content-range': `bytes 0-99/${N}`, 'content-length': '100' }, body: a.body.subarray(0, 100) })],
    ['a whole-object read with a wrong Content-Length', {}, (a) => ({ ...a, headers: { ...a.headers, 'content-length': String(N - 1) }, body: a.body.subarray(0, N - 1) })],
  ];
  it.each(lies)('%s → 502 before any header, no byte relayed', async (_name, headers, edit) => {
    const { uri, proxy } = await setUp();
    proxy.rules.push({ fault: { kind: 'rewrite', edit } });
    const got = await fetchRaw(uri, headers);
    expect(got.status).toBe(502);
    expect(got.headers['content-range']).toBeUndefined();
    expect(errorOf(got.body).error_code).toBe('IO_ERROR');
    expect(proxy.stats.faulted).toBe(1);
    const line = r!.logLines.find((l) => l.event === 'artifact_download_refused');
    expect(String(line?.fields.reason)).toMatch(/^(upstream_|storage_internal)/);
    await stillServes(uri, OBJ);
  });
});

function strip(h: Record<string, string>, name: string): Record<string, string> {
  const { [name]: _, ...rest } = h;
  return rest;
}

describe('T13, T18–T20 on S3: resets, slow answers, stalls and client aborts', () => {
  it('T13: S3 resets the connection after 40 % of the body, for 200 and 206: the client sees a cut, never a clean end', async () => {
    const big = pattern(4 * MiB, 13);
    const { uri, proxy } = await setUp(big);
    for (const [headers, length] of [
      [{}, big.length],
      [{ Range: `bytes=${MiB}-` }, big.length - MiB],
    ] as Array<[Record<string, string>, number]>) {
      proxy.rules.length = 0;
      proxy.rules.push({ fault: { kind: 'reset-after', bytes: Math.floor(length * 0.4) } });
      const got = await fetchRaw(uri, headers);
      expect(got.status).toBe(headers.Range ? 206 : 200);
      expect(got.headers['content-length']).toBe(String(length));
      expect(got.outcome).not.toBe('end');
      expect(got.body.length).toBeLessThan(length);
      expect(got.body.length).toBeLessThanOrEqual(Math.floor(length * 0.4));
    }
    const cut = r!.logLines.filter((l) => l.event === 'artifact_stream_aborted');
    expect(cut.map((l) => l.fields.reason)).toEqual(['upstream_error', 'upstream_error']);
    await stillServes(uri, big);
  });

  it('T18: S3 delaying its headers past the TTFB budget → 504 at the budget, and the S3 request is aborted', async () => {
    const { uri, proxy } = await setUp(OBJ, { download: { ttfbMs: 400 } });
    proxy.rules.push({ fault: { kind: 'hang' } });
    const t0 = performance.now();
    const got = await fetchRaw(uri, { Range: 'bytes=0-9' });
    const took = performance.now() - t0;
    expect(got.status).toBe(504);
    expect(errorOf(got.body).error_code).toBe('DEADLINE_EXCEEDED');
    expect(took).toBeGreaterThanOrEqual(390);
    expect(took).toBeLessThan(3000);
    await proxy.until(() => proxy.stats.closedEarly === 1, 2000);
  });

  it('T19: S3 going silent after 1 MiB: the client\'s connection is cut within the idle budget + 1 s, the S3 socket closed', async () => {
    const big = pattern(4 * MiB, 19);
    const { uri, proxy } = await setUp(big, { download: { idleMs: 500 } });
    const baseline = proxy.stats.openSockets;
    proxy.rules.push({ fault: { kind: 'stall-after', bytes: MiB } });
    let stalledAt = 0;
    const got = await fetchRaw(uri, {}, (n) => {
      if (n >= MiB && stalledAt === 0) stalledAt = performance.now();
    });
    const after = performance.now() - stalledAt;
    expect(got.status).toBe(200);
    expect(got.outcome).not.toBe('end');
    expect(got.body.length).toBe(MiB);
    expect(after).toBeLessThan(500 + 1000);
    await proxy.until(() => proxy.stats.closedEarly === 1 && proxy.stats.openSockets <= baseline, 2000);
    expect(r!.logLines.find((l) => l.event === 'artifact_stream_aborted')?.fields).toMatchObject({ reason: 'upstream_stall', bytes: MiB });
    await stillServes(uri, big);
  });

  it('T20: a client leaving after 1 MiB of a large object closes the S3 connection within 2 s; regate keeps serving', async () => {
    const big = pattern(48 * MiB, 20);
    const { uri, proxy } = await setUp(big);
    const got = await fetchRaw(uri, {}, (n, destroy) => {
      if (n >= MiB) destroy();
    });
    expect(got.outcome).toBe('client closed');
    await proxy.until(() => proxy.stats.closedEarly === 1, 2000);
    await proxy.until(() => r!.logLines.some((l) => l.event === 'artifact_stream_aborted'), 2000);
    expect(r!.logLines.find((l) => l.event === 'artifact_stream_aborted')?.fields.reason).toBe('client_abort');
    const part = await fetchRaw(uri, { Range: `bytes=${40 * MiB}-${40 * MiB + 9}` });
    expect(Buffer.compare(part.body, Buffer.from(big.subarray(40 * MiB, 40 * MiB + 10)))).toBe(0);
  });
});
