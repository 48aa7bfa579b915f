/**
 * The download route against a faulty store, through app.request() with manual timers: upstream lies and
 * failures before the first byte (T15, T17), time budgets, aborts and backpressure (T18–T21), Range DoS and
 * numeric edges (T23, T24) and conditional ordering (T26).
 */
import { describe, expect, it } from 'vitest';
import { httpDate } from '../../src/core/artifacts/conditional.ts';
import { expectPrivate, get, N, OBJ, useDownloadEnvs } from '../helpers/download-http.ts';
import { equalBytes, pattern } from '../helpers/streams.ts';

const { setup } = useDownloadEnvs();

describe('T15 upstream lies and T17 upstream failures (before headers)', () => {
  it.each(['full-for-range', 'other-range', 'unknown-size', 'short-length', 'long-length', 'etag'] as const)(
    'T15 %s → 502 before any header, no bytes relayed',
    async (lie) => {
      const s = await setup();
      s.store.faults.lie = lie;
      const r = await get(s, s.url, { Range: 'bytes=100-199' });
      expect(r.status).toBe(502);
      expect(r.h.get('content-range')).toBeNull();
      expect(JSON.parse(new TextDecoder().decode(r.body)).error_code).toBe('IO_ERROR');
      expect(s.store.stats.cancelled).toBe(1);
      const line = s.logLines.find((l) => l.event === 'artifact_download_refused');
      expect(String(line?.fields.reason)).toMatch(/^upstream_/);
    },
  );

  it('T15 a full read answered with a range or a wrong length is 502 too', async () => {
    const s = await setup();
    s.store.faults.lie = 'long-length';
    expect((await get(s, s.url)).status).toBe(502);
  });

  it.each([
    ['unavailable', 503, 'TEMPORARILY_UNAVAILABLE'],
    ['internal', 502, 'IO_ERROR'],
    ['timeout', 504, 'DEADLINE_EXCEEDED'],
    ['not_found', 404, 'RESOURCE_DOES_NOT_EXIST'],
    ['invalid', 502, 'IO_ERROR'],
  ] as const)('T17 %s → %i %s, JSON, no leak', async (kind, status, code) => {
    const s = await setup();
    s.store.faults = { failBeforeFirstByte: kind, retryAfter: 7 };
    for (const headers of [{}, { Range: 'bytes=0-9' }] as Array<Record<string, string>>) {
      const r = await get(s, s.url, headers);
      expect(r.status).toBe(status);
      const text = new TextDecoder().decode(r.body);
      expect(JSON.parse(text).error_code).toBe(code);
      expect(r.h.get('retry-after')).toBe(kind === 'unavailable' ? '7' : null);
      for (const secret of [s.token, 'secret-bucket', 'models/', 's3://', 'stack']) expect(text).not.toContain(secret);
      expectPrivate(r.h);
    }
  });

  it('T17 a store that throws a non-storage error is 502 without a leak', async () => {
    const s = await setup();
    s.store.faults = { throwPlain: true };
    const r = await get(s, s.url);
    expect(r.status).toBe(502);
    expect(new TextDecoder().decode(r.body)).not.toContain('/secret');
  });
});

describe('T18–T21 time budgets, aborts and backpressure', () => {
  it('T18: a storage TTFB over the budget is 504 at the budget, and the storage read is aborted', async () => {
    const s = await setup();
    s.store.faults = { ttfbDelayMs: 15_000 };
    const pending = s.app.request(s.url, { headers: { Range: 'bytes=0-9' } });
    await s.timers!.armed(2); // the route's 8 s budget and the store's 15 s delay
    s.timers!.advance(7_999);
    s.timers!.advance(1);
    const res = await pending;
    expect(res.status).toBe(504);
    expect((await res.json()).error_code).toBe('DEADLINE_EXCEEDED');
    expect(s.timers!.now()).toBe(8_000);
    expect(s.store.stats.aborted).toBe(1);
    expect(s.timers!.pending()).toBe(0); // the store's own wait was torn down too
  });

  it('T18: HEAD metadata calls have the same budget', async () => {
    const s = await setup();
    s.store.faults = { ttfbDelayMs: 15_000 };
    const pending = s.app.request(s.url, { method: 'HEAD' });
    await s.timers!.armed(2);
    s.timers!.advance(8_000);
    expect((await pending).status).toBe(504);
  });

  it('T19: a body that stalls after 1 MB aborts the response at the idle budget (never a clean end)', async () => {
    const s = await setup();
    const big = pattern(3 * 1024 * 1024, 3);
    const meta = await s.addObject('model/big.bin', big);
    const { url } = await s.mint('model/big.bin', meta);
    s.store.faults = { stallAfterBytes: 1024 * 1024 };
    const res = await s.app.request(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(big.length));
    const reader = res.body!.getReader();
    let got = 0;
    while (got < 1024 * 1024) got += (await reader.read()).value!.byteLength;
    const next = reader.read();
    await s.timers!.armed(1);
    s.timers!.advance(4_999);
    expect(s.store.stats.cancelled).toBe(0);
    s.timers!.advance(1);
    await expect(next).rejects.toThrow(/upstream_stall/);
    expect(got).toBe(1024 * 1024);
    expect(s.store.stats.cancelled).toBe(1);
    expect(s.store.stats.aborted).toBe(1);
    expect(s.logLines.find((l) => l.event === 'artifact_stream_aborted')?.fields).toMatchObject({ reason: 'upstream_stall', bytes: 1024 * 1024 });
  });

  it('after the first byte an upstream error errors the body: fewer bytes than Content-Length and no clean end', async () => {
    const s = await setup();
    const big = pattern(2 * 1024 * 1024, 4);
    const meta = await s.addObject('model/big.bin', big);
    const { url } = await s.mint('model/big.bin', meta);
    for (const faults of [{ errorAfterBytes: 800_000 }, { lie: 'short-body' as const }]) {
      s.store.faults = faults;
      const res = await s.app.request(url);
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      let got = 0;
      const outcome = await (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return 'clean end';
          got += value.byteLength;
        }
      })().catch((e: Error) => e.message);
      expect(outcome, JSON.stringify(faults)).toMatch(/Download aborted: upstream_(error|short)/);
      expect(got).toBe(faults.lie ? big.length / 2 : 800_000);
      expect(got).toBeLessThan(Number(res.headers.get('content-length')));
    }
  });

  it('surplus upstream bytes are never relayed: the body stops at Content-Length', async () => {
    const s = await setup();
    s.store.faults = { lie: 'long-body' };
    const r = await get(s, s.url, { Range: 'bytes=10-19' });
    expect(r.status).toBe(206);
    expect(equalBytes(r.body, OBJ.slice(10, 20))).toBe(true);
  });

  it('T20: a client abort after 1 MB cancels the storage stream and reads nothing more', async () => {
    const s = await setup();
    const big = pattern(8 * 1024 * 1024, 8);
    const meta = await s.addObject('model/big.bin', big);
    const { url } = await s.mint('model/big.bin', meta);
    const res = await s.app.request(url);
    const reader = res.body!.getReader();
    let got = 0;
    while (got < 1024 * 1024) got += (await reader.read()).value!.byteLength;
    await reader.cancel(new Error('client went away'));
    expect(s.store.stats.cancelled).toBe(1);
    expect(s.store.stats.aborted).toBe(1);
    expect(s.store.stats.bytesRead).toBe(got);
    expect(s.timers!.pending()).toBe(0);
    expect(s.logLines.find((l) => l.event === 'artifact_stream_aborted')?.fields.reason).toBe('client_abort');
  });

  it('T21: reading is pull-based: storage runs at most one chunk ahead of a slow reader', async () => {
    const s = await setup();
    const big = pattern(4 * 1024 * 1024, 21);
    const meta = await s.addObject('model/big.bin', big);
    const { url } = await s.mint('model/big.bin', meta);
    const res = await s.app.request(url);
    const reader = res.body!.getReader();
    let consumed = 0;
    let maxAhead = 0;
    for (;;) {
      // A slow consumer: let everything else run before each read.
      for (let i = 0; i < 5; i++) await Promise.resolve();
      maxAhead = Math.max(maxAhead, s.store.stats.bytesRead - consumed);
      const { done, value } = await reader.read();
      if (done) break;
      consumed += value.byteLength;
    }
    expect(consumed).toBe(big.length);
    expect(maxAhead).toBeLessThanOrEqual(64 * 1024);
  });
});

describe('T23 Range DoS, T24 numeric edges, T26 conditionals', () => {
  it('T23: 10 000 specs, an 8 KB header and 1000 × "0-" are 416 fast, with no storage read', async () => {
    const s = await setup();
    for (const range of [
      `bytes=${Array.from({ length: 10_000 }, (_, i) => `${i}-${i}`).join(',')}`,
      `bytes=0-0${', '.repeat(4 * 1024)}`,
      `bytes=${Array(1000).fill('0-').join(',')}`,
    ]) {
      const t = performance.now();
      const r = await get(s, s.url, { Range: range });
      expect(performance.now() - t).toBeLessThan(50);
      expect(r.status).toBe(416);
      expect(r.h.get('content-range')).toBe('bytes */1000');
      expect(r.body.length).toBeLessThan(N);
    }
    expect(s.store.stats.gets).toBe(0);
  });

  it('T24: integers too large for a double: first-pos past EOF, last-pos clamped; digits only in headers', async () => {
    const s = await setup();
    const a = await get(s, s.url, { Range: 'bytes=0-99999999999999999999999' });
    expect(a.status).toBe(206);
    expect(a.h.get('content-range')).toBe('bytes 0-999/1000');
    const b = await get(s, s.url, { Range: 'bytes=18446744073709551615-' });
    expect(b.status).toBe(416);
    expect(b.h.get('content-range')).toBe('bytes */1000');
    const c = await get(s, s.url, { Range: 'bytes=-99999999999999999999' });
    expect(c.h.get('content-range')).toBe('bytes 0-999/1000');
  });

  it('T26: 412 is decided before Range, and 304 carries no body or Content-Range', async () => {
    const s = await setup();
    const r412 = await get(s, s.url, { 'If-Match': '"nope"', Range: 'bytes=abc' });
    expect(r412.status).toBe(412);
    const r304 = await get(s, s.url, { 'If-None-Match': `"x", ${s.meta.etag}`, Range: 'bytes=5000-' });
    expect(r304.status).toBe(304);
    expect(r304.h.get('content-range')).toBeNull();
    expect(r304.body.length).toBe(0);
    const ims = await get(s, s.url, { 'If-Modified-Since': httpDate(s.meta.lastModified) });
    expect(ims.status).toBe(304);
    expect(s.store.stats).toMatchObject({ gets: 0, heads: 1 });
  });
});

