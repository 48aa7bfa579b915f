/**
 * The connection limits of the Node entry (src/runtime/server-limits.ts, node-server.ts), on the entry itself
 * (`node src/runtime/node.ts`, real sockets) with the limits set small through the environment:
 * - a client that asks for a large signed download and never reads is closed after the send timeout (and its
 *   file handle released: the in-process test at the end), while a slow client that keeps reading gets every byte even though its download outlasts every timeout;
 * - a client that sends half a header is closed after the headers timeout (408);
 * - an idle keep-alive connection is closed after the keep-alive timeout;
 * - connections beyond the cap are closed on accept while the ones held are still served;
 * - bad values stop start-up with a message naming the variable.
 * Node's own server timers cannot take an injected clock, so these use real time with 1 s limits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startNode } from '../helpers/node-process.ts';

const running: ChildProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.kill('SIGKILL');
});

const ADMIN = 'dapi-limits-0123456789abcdef';
const MiB = 1024 * 1024;

async function start(env: Record<string, string>) {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'regate-limits-')), 'data');
  return startNode({ REGATE_DATA_DIR: dataDir, REGATE_ADMIN_TOKEN: ADMIN, ...env }, running);
}

async function api(base: string, method: string, path: string, body?: unknown, raw?: Uint8Array) {
  const res = await fetch(new URL(path, base), {
    method,
    headers: { Authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: raw ? new Blob([raw as Uint8Array<ArrayBuffer>]) : body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
  return text ? JSON.parse(text) : {};
}

/** A registered version with a `size`-byte file, and a signed URI for it (all over HTTP, as the admin). */
async function signedDownload(base: string, size: number): Promise<URL> {
  const area = `/dbfs/databricks/mlflow/tmp-external-source/${randomBytes(8).toString('hex')}`;
  await api(base, 'POST', '/api/2.0/mlflow/registered-models/create', { name: 'big' });
  await api(base, 'POST', `${area}/model/MLmodel`, undefined, new TextEncoder().encode('artifact_path: model\n'));
  await api(base, 'POST', `${area}/model/data/big.bin`, undefined, new Uint8Array(randomBytes(size)));
  const mv = await api(base, 'POST', '/api/2.0/mlflow/model-versions/create', { name: 'big', source: `dbfs:${area.slice('/dbfs'.length)}/model` });
  const q = new URLSearchParams({ name: 'big', version: String(mv.model_version.version), path: 'data/big.bin' });
  const s = await api(base, 'GET', `/api/2.0/mlflow/model-versions/get-signed-download-uri?${q}`);
  return new URL(s.signed_uri, base);
}

interface Conn {
  socket: Socket;
  received: () => string;
  bytes: () => number;
  /** Resolves with ms from `since` to the server closing the connection, or -1 if it is still open after `waitMs`. */
  closedWithin(waitMs: number): Promise<number>;
  /** Marks now as the start for closedWithin. */
  mark(): void;
}

function open(base: string): Promise<Conn> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let text = '';
    let bytes = 0;
    let since = performance.now();
    let closedAt: number | undefined;
    const waiters: Array<() => void> = [];
    socket.on('data', (d: Buffer) => {
      bytes += d.length;
      if (text.length < 4096) text += d.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closedAt = performance.now();
      for (const w of waiters.splice(0)) w();
    });
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => text,
        bytes: () => bytes,
        mark: () => void (since = performance.now()),
        closedWithin: (waitMs) =>
          new Promise((done) => {
            const report = () => done(closedAt === undefined ? -1 : closedAt - since);
            if (closedAt !== undefined) return report();
            const t = setTimeout(report, waitMs);
            waiters.push(() => {
              clearTimeout(t);
              report();
            });
          }),
      }),
    );
    socket.once('error', reject);
  });
}

const get = (path: string, host: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;

/** Waits until `conn` has received a whole response with `marker` in it. */
async function until(conn: Conn, marker: string, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!conn.received().includes(marker)) {
    if (performance.now() > end) throw new Error(`no "${marker}" within ${ms} ms: ${conn.received().slice(0, 200)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('connection limits of the Node entry', () => {
  it('closes a download whose client never reads after REGATE_SEND_TIMEOUT_SECONDS; a slow reader that keeps reading gets every byte', async () => {
    const size = 24 * MiB;
    const s = await start({ REGATE_SEND_TIMEOUT_SECONDS: '1', REGATE_REQUEST_TIMEOUT_SECONDS: '1', REGATE_HEADERS_TIMEOUT_SECONDS: '1' });
    const uri = await signedDownload(s.url, size);

    const stalled = await open(s.url);
    stalled.socket.write(get(`${uri.pathname}${uri.search}`, uri.host));
    await until(stalled, 'HTTP/1.1 200 OK');
    stalled.socket.pause(); // never read again
    stalled.mark();

    // A slow reader: pauses 400 ms after every 3 MiB (under the send timeout each time), about 3 s in all.
    const slow = await open(s.url);
    let nextPause = 3 * MiB;
    slow.socket.on('data', () => {
      if (slow.bytes() < nextPause) return;
      nextPause += 3 * MiB;
      slow.socket.pause();
      setTimeout(() => slow.socket.resume(), 400);
    });
    const t0 = performance.now();
    slow.socket.write(get(`${uri.pathname}${uri.search}`, uri.host, 'Connection: close\r\n'));

    // A paused socket does not notice its peer closing: look after the timeout has passed, by reading again.
    await new Promise((r) => setTimeout(r, 2500));
    stalled.socket.resume();
    expect(await stalled.closedWithin(2000)).toBeGreaterThanOrEqual(0); // today: the whole body, then kept alive
    expect(stalled.bytes()).toBeLessThan(size);

    expect(await slow.closedWithin(30_000)).toBeGreaterThan(0);
    expect(performance.now() - t0).toBeGreaterThan(2000); // it did outlast the send and request timeouts
    const head = slow.received().slice(0, slow.received().indexOf('\r\n\r\n') + 4);
    expect(head.toLowerCase()).toContain(`content-length: ${size}`);
    expect(slow.bytes()).toBe(head.length + size);
  });

  it('closes a connection that sends half a header after REGATE_HEADERS_TIMEOUT_SECONDS, with a 408', async () => {
    const s = await start({ REGATE_HEADERS_TIMEOUT_SECONDS: '1' });
    const c = await open(s.url);
    c.socket.write('GET /api/2.0/preview/scim/v2/Me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ');
    c.mark();
    const closedAfter = await c.closedWithin(6000);
    expect(closedAfter).toBeGreaterThan(900);
    expect(closedAfter).toBeLessThan(3500); // Node's default: 60 s, checked every 30 s
    expect(c.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes an idle keep-alive connection after REGATE_KEEP_ALIVE_TIMEOUT_SECONDS', async () => {
    const s = await start({ REGATE_KEEP_ALIVE_TIMEOUT_SECONDS: '1' });
    const c = await open(s.url);
    c.socket.write(get('/api/2.0/preview/scim/v2/Me', 'x', `Authorization: Bearer ${ADMIN}\r\n`));
    await until(c, '"userName"');
    expect(c.received()).toMatch(/^HTTP\/1\.1 200/);
    c.mark();
    const closedAfter = await c.closedWithin(8000);
    expect(closedAfter).toBeGreaterThan(900);
    expect(closedAfter).toBeLessThan(3500); // Node's default: 5 s + 1 s
  });

  it('closes connections beyond REGATE_MAX_CONNECTIONS on accept and keeps serving the ones it holds', async () => {
    const s = await start({ REGATE_MAX_CONNECTIONS: '3' });
    const me = get('/api/2.0/preview/scim/v2/Me', 'x', `Authorization: Bearer ${ADMIN}\r\n`);
    const held = await Promise.all([open(s.url), open(s.url), open(s.url)]);
    for (const c of held) c.socket.write(me);
    await Promise.all(held.map((c) => until(c, '"userName"')));

    const extra = await open(s.url);
    extra.socket.write(me);
    expect(await extra.closedWithin(3000)).toBeGreaterThanOrEqual(0);
    expect(extra.received()).toBe('');

    // The held connections are still served (keep-alive), and a new one is accepted once one of them leaves.
    for (const c of held) c.socket.write(me);
    await Promise.all(held.map((c) => answers(c, 2)));
    held[0]!.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const later = await open(s.url);
    later.socket.write(me);
    await until(later, '"userName"');
  });

  it.each([
    ['REGATE_SEND_TIMEOUT_SECONDS', 'soon', /REGATE_SEND_TIMEOUT_SECONDS must be a number of seconds from 0\.001 to 86400, got soon/],
    ['REGATE_HEADERS_TIMEOUT_SECONDS', '0', /REGATE_HEADERS_TIMEOUT_SECONDS must be a number of seconds/],
    ['REGATE_KEEP_ALIVE_TIMEOUT_SECONDS', '-1', /REGATE_KEEP_ALIVE_TIMEOUT_SECONDS must be a number of seconds/],
    ['REGATE_MAX_CONNECTIONS', '1e3', /REGATE_MAX_CONNECTIONS must be an integer from 1 to 1000000, got 1e3/],
    ['REGATE_MAX_CONNECTIONS', '1000000', /REGATE_MAX_CONNECTIONS=1000000 needs about 2000128 file descriptors.*ulimit -n/],
  ])('refuses to start with %s=%s', async (name, value, message) => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'regate-limits-')), 'data');
    const proc = spawn(process.execPath, ['src/runtime/node.ts'], {
      env: { ...process.env, PORT: '0', REGATE_DATA_DIR: dataDir, [name]: value },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.push(proc);
    let err = '';
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((r) => proc.on('close', (c) => r(c)));
    expect(code).toBe(1);
    expect(err).toMatch(message);
  });
});

/** Waits until `c` has received `n` complete 200 answers. */
async function answers(c: Conn, n: number): Promise<void> {
  const end = performance.now() + 5000;
  const count = () => c.received().split('"userName"').length - 1;
  while (count() < n) {
    if (performance.now() > end) throw new Error(`${count()} answers, expected ${n}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
