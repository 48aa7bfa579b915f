/**
 * @module stalled
 * Figure 6: download clients that never read. regate is started as a user starts it and set up over HTTP (a
 * creator uploads a large file, a reader gets CAN_READ); then `clients` connections each send a GET for the
 * reader's signed URI of that file, read the first bytes (the `200` status line, so every one is known to be
 * answered) and never read again. While they stall, the figure measures
 * - regate's memory, from /proc/<pid>/status (VmRSS now, VmHWM the peak) and its open file descriptors;
 * - the latency of other clients' metadata GETs (`registered-models/get` as the reader, one request at a time on
 *   one keep-alive connection, as in figure 5), p50 and p99;
 * then waits for the send timeout (REGATE_SEND_TIMEOUT_SECONDS, set small here) to close the stalled
 * connections and release their file handles, and counts how many the server closed.
 * Goals: RSS < 512 MB and metadata p99 < 100 ms with 1,500 stalled readers of a 64 MiB file.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ok, parallel, sampleSequential } from '../lib/http.ts';
import { createModel, createVersion, grant, makeUser, modelId, MV, RM, startRegate, upload, UPLOAD_AREA } from '../lib/regate.ts';
import { percentile } from '../lib/stats.ts';
import type { RunContext } from '../lib/context.ts';
import type { Figure } from '../lib/results.ts';

const MODEL = 'bench-stalled';
const FILE = 'data/weights.bin';
const MB = 1e6;
const MiB = 1024 * 1024;

/** regate's memory and descriptors (all, and sockets among them) from /proc (Linux). */
function procStatus(pid: number): { rssMB: number; hwmMB: number; fds: number; sockets: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  const fds = readdirSync(`/proc/${pid}/fd`);
  let sockets = 0;
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // closed meanwhile
    }
  }
  return { rssMB: (kb('VmRSS') * 1024) / MB, hwmMB: (kb('VmHWM') * 1024) / MB, fds: fds.length, sockets };
}

interface Stalled {
  socket: Socket;
}

/** One client: sends the GET, waits for the status line, then stops reading for good. */
function stallOne(url: URL, timeoutMs: number): Promise<Stalled> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const s: Stalled = { socket };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no status line within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', () => {}); // a reset by the server is an outcome, not a failure of the runner
    socket.once('connect', () => socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`));
    socket.once('data', (d: Buffer) => {
      clearTimeout(timer);
      socket.pause(); // never read again: the kernel buffers fill, then the server's writes wait
      const line = d.subarray(0, d.indexOf('\r\n')).toString();
      if (line !== 'HTTP/1.1 200 OK') {
        socket.destroy();
        reject(new Error(`answered "${line}"`));
      } else resolve(s);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      reject(new Error('closed before the status line'));
    });
  });
}

export async function stalledFigure(ctx: RunContext): Promise<Figure> {
  const clients = ctx.smoke ? 20 : 1500;
  const fileBytes = ctx.smoke ? 8 * MiB : 64 * MiB;
  const sendTimeoutS = ctx.smoke ? 3 : 20;
  const sampleMs = ctx.smoke ? 1000 : 10_000;
  const title = `${clients} download clients that never read (${fileBytes / MiB} MiB file each): regate memory and other clients' latency`;
  const env = { REGATE_SIGNED_URI_TTL_SECONDS: '900', REGATE_SEND_TIMEOUT_SECONDS: String(sendTimeoutS) };
  const rg = await startRegate(join(ctx.workDir, 'regate-stalled'), 'stalled readers', env);
  const stalled: Stalled[] = [];
  try {
    const creator = await makeUser(rg, 'creator@bench.example');
    const reader = await makeUser(rg, 'reader@bench.example');
    await createModel(rg, creator.token, MODEL);
    const uploadId = randomBytes(8).toString('hex');
    await upload(rg, creator.token, uploadId, 'model/MLmodel', new TextEncoder().encode('artifact_path: model\nflavors: {}\n'));
    await upload(rg, creator.token, uploadId, `model/${FILE}`, new Uint8Array(randomBytes(fileBytes)));
    const version = await createVersion(rg, creator.token, MODEL, `dbfs:${UPLOAD_AREA}/${uploadId}/model`);
    await grant(rg, creator.token, await modelId(rg, creator.token, MODEL), reader.name, 'CAN_READ');
    const r = await ok(rg.url, 'GET', `${MV}/get-signed-download-uri`, { token: reader.token, query: { name: MODEL, version, path: FILE } });
    const uri = new URL(String(r.json.signed_uri), rg.url);
    const metaUrl = `${rg.url}${RM}/get?name=${MODEL}`;
    const auth = { Authorization: `Bearer ${reader.token}` };
    const check = (status: number, body: Buffer) => (status === 200 && body.includes(MODEL) ? null : `status ${status}`);

    const before = procStatus(rg.child.pid);
    const idle = await sampleSequential(metaUrl, auth, { maxCount: 100_000, minCount: 20, maxMs: sampleMs, check });
    ctx.log(`figure 6: opening ${clients} stalled downloads of ${fileBytes / MiB} MiB`);
    const t0 = performance.now();
    await parallel(
      Array.from({ length: clients }, (_, i) => i),
      64,
      Date.now() + 120_000,
      async () => void stalled.push(await stallOne(uri, 30_000)),
    );
    const openedS = (performance.now() - t0) / 1000;
    await new Promise((res) => setTimeout(res, ctx.smoke ? 300 : 2000)); // let the servers' writes reach the full kernel buffers
    const during = procStatus(rg.child.pid);
    const lat = await sampleSequential(metaUrl, auth, { maxCount: 100_000, minCount: 20, maxMs: sampleMs, check });
    const after = procStatus(rg.child.pid);
    // A paused client does not see the server close its socket, so count regate's sockets instead.
    const stillOpen = Math.max(0, after.sockets - before.sockets);

    // The send timeout: every stalled connection closed by the server (its socket gone from regate's fds).
    // Under TCP memory pressure (1,500 × several MiB of socket buffers) the kernel keeps taking a few bytes
    // now and then, which counts as progress, so the last connections close well after the timeout.
    const graceS = ctx.smoke ? 15 : 90;
    const waitUntil = t0 + (sendTimeoutS + graceS) * 1000;
    let released = procStatus(rg.child.pid);
    while (released.sockets - before.sockets > 0 && performance.now() < waitUntil) {
      await new Promise((res) => setTimeout(res, 200));
      released = procStatus(rg.child.pid);
    }
    const closed = clients - Math.max(0, released.sockets - before.sockets);
    const p = (xs: number[], q: number) => percentile(xs, q).toFixed(1);
    const rssMB = Math.max(during.rssMB, after.rssMB);
    const p99 = percentile(lat.ms, 99);
    const goal = (met: boolean) => (ctx.smoke ? 'not judged (smoke)' : met ? 'met' : 'missed');
    const rows = [
      `stalled clients: ${clients}, each answered 200 (status line read, then never read again); opened in ${openedS.toFixed(1)} s`,
      `regate before: VmRSS ${before.rssMB.toFixed(0)} MB, ${before.fds} fds (${before.sockets} sockets); metadata GET p50 ${p(idle.ms, 50)} ms, p99 ${p(idle.ms, 99)} ms (${idle.ms.length} requests)`,
      `regate during: VmRSS ${rssMB.toFixed(0)} MB, VmHWM ${after.hwmMB.toFixed(0)} MB, ${during.fds} fds (${during.sockets} sockets); metadata GET p50 ${p(lat.ms, 50)} ms, p99 ${p99.toFixed(1)} ms (${lat.ms.length} requests); ${stillOpen} stalled connections still open after the sampling`,
      `within REGATE_SEND_TIMEOUT_SECONDS=${sendTimeoutS} + ${graceS} s of the first connection: ${closed} of ${clients} closed by the server; ${released.fds} fds (${released.sockets} sockets); VmRSS ${released.rssMB.toFixed(0)} MB`,
      `goal RSS < 512 MB: ${goal(rssMB < 512)} (${rssMB.toFixed(0)} MB); goal p99 < 100 ms: ${goal(p99 < 100)} (${p99.toFixed(1)} ms); stalled connections released: ${closed === clients ? 'yes' : 'NO'}`,
    ];
    return {
      kind: 'external',
      id: '6',
      title,
      command: rg.command,
      status: 'ok',
      detail: rows.join('\n'),
      json: {
        clients,
        fileBytes,
        sendTimeoutSeconds: sendTimeoutS,
        rssMB: Math.round(rssMB),
        hwmMB: Math.round(after.hwmMB),
        fdsDuring: during.fds,
        fdsAfterTimeout: released.fds,
        socketsDuring: during.sockets,
        socketsAfterTimeout: released.sockets,
        closedByServer: closed,
        metadataP50Ms: Number(p(lat.ms, 50)),
        metadataP99Ms: Number(p99.toFixed(1)),
      },
    };
  } catch (e) {
    return { kind: 'failed', id: '6', title, error: `${String(e instanceof Error ? e.stack ?? e.message : e)}\n${rg.child.tail()}` };
  } finally {
    for (const s of stalled) s.socket.destroy();
    await rg.child.stop();
  }
}
