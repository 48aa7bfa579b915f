/**
 * @module hot
 * Figures 1 and 2, on one regate started as a user would (REGATE_SIGNED_URI_TTL_SECONDS=900) and set up over
 * HTTP: a creator user uploads a model by raw DBFS POST and registers it; a reader user (not an admin) gets
 * CAN_READ through the Permissions API and makes every measured request.
 *
 * 1. `get-signed-download-uri` and `registered-models/get` vs a constant-JSON Hono app answering the same JSON.
 * 2. A 1-byte ranged GET (`Range: bytes=100-100`) on a signed URI vs nginx `secure_link` on the same file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { abRounds, type AbSide, type Target } from '../lib/ab.ts';
import { startNginx } from '../peers/nginx.ts';
import { call, ok } from '../lib/http.ts';
import { NODE, ROOT } from '../lib/paths.ts';
import { spawnLogged, waitForLog, type Child } from '../lib/procs.ts';
import { createModel, createVersion, grant, makeUser, modelId, MV, RM, startRegate, upload, UPLOAD_AREA, type Identity, type Regate } from '../lib/regate.ts';
import type { RunContext } from '../lib/context.ts';
import type { AbFigure, Figure, Goal } from '../lib/results.ts';

const MODEL = 'bench-hot';
const FILE = 'data/weights.bin';
const RANGE = 'bytes=100-100';
const TTL = 900;
/** A 206 with one byte of body: headers plus 1 byte, far below the file (so no run can pass on full 200s). */
const ONE_BYTE_ANSWER = { min: 100, max: 2048 };

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Hot {
  rg: Regate;
  reader: Identity;
  bytes: Uint8Array;
  version: string;
  checks: string[];
}

async function setUp(ctx: RunContext): Promise<Hot> {
  const rg = await startRegate(join(ctx.workDir, 'regate-hot'), 'hot path', { REGATE_SIGNED_URI_TTL_SECONDS: String(TTL) });
  try {
    const creator = await makeUser(rg, 'creator@bench.example');
    const reader = await makeUser(rg, 'reader@bench.example');
    const outsider = await makeUser(rg, 'outsider@bench.example');
    await createModel(rg, creator.token, MODEL);
    const uploadId = randomBytes(8).toString('hex');
    const bytes = new Uint8Array(randomBytes(ctx.fileBytes));
    await upload(rg, creator.token, uploadId, 'model/MLmodel', new TextEncoder().encode('artifact_path: model\nflavors: {}\n'));
    await upload(rg, creator.token, uploadId, `model/${FILE}`, bytes);
    const version = await createVersion(rg, creator.token, MODEL, `dbfs:${UPLOAD_AREA}/${uploadId}/model`);
    await grant(rg, creator.token, await modelId(rg, creator.token, MODEL), reader.name, 'CAN_READ');

    const checks: string[] = [];
    const me = await ok(rg.url, 'GET', '/api/2.0/preview/scim/v2/Me', { token: reader.token });
    const groups = JSON.stringify(me.json.groups ?? []);
    if (groups.includes('"admins"')) throw new Error('the reader must not be an admin');
    const q = { name: MODEL, version, path: FILE };
    const hidden = await call(rg.url, 'GET', `${MV}/get-signed-download-uri`, { token: outsider.token, query: q });
    if (hidden.status < 400) throw new Error(`a user without a grant got ${hidden.status} from get-signed-download-uri`);
    checks.push(`reader is not an admin; a user without a grant gets ${hidden.status} for the same call`);
    return { rg, reader, bytes, version, checks };
  } catch (e) {
    await rg.child.stop();
    throw e;
  }
}

/** A signed URI minted for the reader, checked: full GET → 200 + SHA-256, 1-byte range → 206 + the right byte. */
async function mintChecked(h: Hot, full: boolean): Promise<string> {
  const r = await ok(h.rg.url, 'GET', `${MV}/get-signed-download-uri`, { token: h.reader.token, query: { name: MODEL, version: h.version, path: FILE } });
  const uri = String(r.json.signed_uri);
  const abs = new URL(uri, h.rg.url).toString();
  if (full) {
    const got = await ok(abs, 'GET', abs);
    if (got.bytes.byteLength !== h.bytes.byteLength || sha256(got.bytes) !== sha256(h.bytes)) throw new Error('signed download: wrong bytes');
  }
  await checkRange(abs, h.bytes, 'regate signed URI');
  return abs;
}

async function checkRange(url: string, bytes: Uint8Array, who: string): Promise<void> {
  const r = await call(url, 'GET', url, { headers: { Range: RANGE } });
  const want = `bytes 100-100/${bytes.byteLength}`;
  if (r.status !== 206 || r.headers.get('content-range') !== want || r.bytes.byteLength !== 1 || r.bytes[0] !== bytes[100]) {
    throw new Error(
      `${who}: Range ${RANGE} answered ${r.status}, Content-Range ${r.headers.get('content-range')} (expected ${want}), ${r.bytes.byteLength} byte(s) [${[...r.bytes.slice(0, 4)].join(',')}] (expected [${bytes[100]}])`,
    );
  }
}

function goal(ctx: RunContext, text: string, met: boolean, observed: string): Goal {
  return { text, status: ctx.smoke ? 'not judged (smoke)' : met ? 'met' : 'missed', observed };
}

async function startConstantPeer(ctx: RunContext, bodies: Record<string, unknown>): Promise<{ url: string; child: Child }> {
  const dir = join(ctx.workDir, 'hono-constant');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'bodies.json');
  writeFileSync(file, JSON.stringify(bodies));
  const child = spawnLogged({
    name: 'hono-constant',
    cmd: NODE,
    args: ['bench/peers/hono-constant.ts', file],
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
    logPath: join(dir, 'log'),
  });
  try {
    const m = await waitForLog(child, /listening on (http:\/\/\S+)/, 30_000);
    return { url: m[1]!, child };
  } catch (e) {
    await child.stop();
    throw e;
  }
}

/** Figure 1: both metadata endpoints, each against the constant peer answering the same JSON. */
async function figure1(ctx: RunContext, h: Hot): Promise<Figure[]> {
  const auth = { Authorization: `Bearer ${h.reader.token}` };
  const shownAuth = { Authorization: 'Bearer <reader token>' };
  const endpoints: Array<{ id: string; path: string; query: Record<string, string> }> = [
    { id: '1a', path: `${MV}/get-signed-download-uri`, query: { name: MODEL, version: h.version, path: FILE } },
    { id: '1b', path: `${RM}/get`, query: { name: MODEL } },
  ];
  // The peer answers each path with the very JSON regate gave the reader.
  const bodies: Record<string, unknown> = {};
  const urls = new Map<string, string>();
  const sizes = new Map<string, { min: number; max: number }>();
  for (const e of endpoints) {
    const url = `${h.rg.url}${e.path}?${new URLSearchParams(e.query)}`;
    const r = await ok(url, 'GET', url, { headers: auth });
    if (!r.headers.get('content-type')?.includes('application/json')) throw new Error(`${e.path}: not JSON`);
    if (e.id === '1a' && !r.json?.signed_uri) throw new Error('get-signed-download-uri: no signed_uri');
    if (e.id === '1b' && r.json?.registered_model?.name !== MODEL) throw new Error('registered-models/get: wrong model');
    bodies[e.path] = r.json;
    urls.set(e.id, url);
    // Every answer carries this JSON (a signed URI's length may vary by a few bytes) plus under 1 KiB of headers.
    sizes.set(e.id, { min: r.bytes.byteLength - 16, max: r.bytes.byteLength + 1024 });
  }
  await mintChecked(h, true);
  const peer = await startConstantPeer(ctx, bodies);
  const out: Figure[] = [];
  try {
    for (const e of endpoints) {
      const title = `GET ${e.path.replace('/api/2.0/mlflow/', '')} (reader, CAN_READ), warm`;
      try {
        const peerUrl = `${peer.url}${e.path}?${new URLSearchParams(e.query)}`;
        const p = await ok(peerUrl, 'GET', peerUrl);
        if (!isDeepStrictEqual(p.json, bodies[e.path])) throw new Error('the peer does not answer the same JSON');
        const regateSide: AbSide = {
          name: 'regate',
          prepare: async () => ({
            url: urls.get(e.id)!,
            headers: auth,
            shownUrl: `http://127.0.0.1:<port>${e.path}?${new URLSearchParams(e.query)}`,
            shownHeaders: shownAuth,
            bytesPerResponse: sizes.get(e.id)!,
          }),
          verify: async (t: Target) => void (await ok(t.url, 'GET', t.url, { headers: t.headers })),
        };
        const peerSide: AbSide = {
          name: 'hono-constant',
          prepare: async () => ({
            url: peerUrl,
            headers: auth,
            shownUrl: `http://127.0.0.1:<port>${e.path}?…`,
            shownHeaders: shownAuth,
            bytesPerResponse: sizes.get(e.id)!,
          }),
          verify: async (t: Target) => void (await ok(t.url, 'GET', t.url)),
        };
        ctx.log(`figure ${e.id}: ${title}`);
        const result = await abRounds(ctx, regateSide, peerSide);
        const fig: AbFigure = {
          kind: 'ab',
          id: e.id,
          title,
          peer: 'constant-JSON Hono app (bench/peers/hono-constant.ts), same hono/@hono/node-server/Node, answering the same JSON',
          result,
          goals: [
            goal(ctx, 'req/s ≥ 0.5× the peer', result.ratio >= 0.5, `${result.ratio.toFixed(2)}×`),
            goal(ctx, 'regate p99 < 50 ms', result.regate.p99.median < 50, `${result.regate.p99.median.toFixed(1)} ms`),
          ],
          checks: [
            ...h.checks,
            `200 + JSON with the expected ${e.id === '1a' ? 'signed_uri' : 'model'} before the runs; the peer answers the identical JSON; 200 again after every run; wrk: 0 non-2xx/3xx, 0 socket errors, mean answer size = that JSON + at most 1 KiB of headers`,
          ],
        };
        out.push(fig);
      } catch (err) {
        out.push({ kind: 'failed', id: e.id, title, error: String(err instanceof Error ? err.stack ?? err.message : err) });
      }
    }
  } finally {
    await peer.child.stop();
  }
  return out;
}

/** The managed copy regate serves (same size and SHA-256, under its data dir, not the upload); null if not found. */
function findManagedFile(dataDir: string, bytes: Uint8Array): string | null {
  const want = sha256(bytes);
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 12) return;
    for (const ent of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, ent.name);
      if (ent.isDirectory()) walk(p, depth + 1);
      else if (ent.isFile() && statSync(p).size === bytes.byteLength && sha256(readFileSync(p)) === want) found.push(p);
    }
  };
  walk(dataDir, 0);
  return found.find((p) => !/upload/i.test(p)) ?? null;
}

/** Figure 2: 1-byte range on a signed URI vs nginx secure_link serving the same file. */
async function figure2(ctx: RunContext, h: Hot): Promise<Figure> {
  const title = `1-byte ranged GET (Range: ${RANGE}) of a ${ctx.fileBytes} B file on a signed URI`;
  let file = findManagedFile(h.rg.dataDir, h.bytes);
  let fileNote = 'nginx serves the very file regate serves (its managed copy in the data dir)';
  if (!file) {
    const dir = join(ctx.workDir, 'nginx-files');
    mkdirSync(dir, { recursive: true });
    file = join(dir, 'weights.bin');
    writeFileSync(file, h.bytes);
    fileNote = 'regate\'s managed copy was not found on disk; nginx serves a copy with the same bytes';
  }
  const ng = await startNginx(ctx.workDir, file);
  try {
    const forged = `${ng.url}${ng.forgedPath(TTL)}`;
    const f = await call(forged, 'GET', forged);
    if (f.status !== 403) throw new Error(`nginx accepted a forged secure_link (status ${f.status})`);
    const signed = `${ng.url}${ng.signedPath(TTL)}`;
    const whole = await ok(signed, 'GET', signed);
    if (sha256(whole.bytes) !== sha256(h.bytes)) throw new Error('nginx: wrong bytes');
    await checkRange(signed, h.bytes, 'nginx secure_link');
    await mintChecked(h, true);

    const regateSide: AbSide = {
      name: 'regate',
      // A fresh URI right before each run (lifetime 900 s), checked before use.
      prepare: async () => ({
        url: await mintChecked(h, false),
        headers: { Range: RANGE },
        shownUrl: `http://127.0.0.1:<port>/api/2.0/regate/artifacts/download?<signed query>`,
        shownHeaders: { Range: RANGE },
        bytesPerResponse: ONE_BYTE_ANSWER,
      }),
      verify: (t) => checkRange(t.url, h.bytes, 'regate signed URI after the run'),
    };
    const nginxSide: AbSide = {
      name: 'nginx secure_link',
      prepare: async () => {
        const url = `${ng.url}${ng.signedPath(TTL)}`;
        await checkRange(url, h.bytes, 'nginx secure_link');
        return {
          url,
          headers: { Range: RANGE },
          shownUrl: 'http://127.0.0.1:<port>/files/weights.bin?md5=<md5>&expires=<t>',
          shownHeaders: { Range: RANGE },
          bytesPerResponse: ONE_BYTE_ANSWER,
        };
      },
      verify: (t) => checkRange(t.url, h.bytes, 'nginx after the run'),
    };
    ctx.log(`figure 2: ${title}`);
    const result = await abRounds(ctx, regateSide, nginxSide);
    return {
      kind: 'ab',
      id: '2',
      title,
      peer: `nginx secure_link (secure_link_md5, 1 worker, sendfile, access log on; config: bench/peers/nginx.ts)`,
      result,
      goals: [goal(ctx, 'req/s ≥ 0.25× nginx', result.ratio >= 0.25, `${result.ratio.toFixed(2)}×`)],
      checks: [
        ...h.checks,
        fileNote,
        'before the runs: full GET on both → 200 with the SHA-256 of the uploaded bytes; nginx refuses a forged link (403)',
        `before and after every run: ${RANGE} → 206, Content-Range bytes 100-100/${ctx.fileBytes}, the right byte; wrk: 0 non-2xx/3xx, 0 socket errors, mean answer (headers + body) ${ONE_BYTE_ANSWER.min}–${ONE_BYTE_ANSWER.max} B`,
      ],
    };
  } finally {
    await ng.child.stop();
  }
}

export async function hotFigures(ctx: RunContext, which: Set<string>): Promise<Figure[]> {
  let h: Hot;
  try {
    h = await setUp(ctx);
  } catch (e) {
    const error = String(e instanceof Error ? e.stack ?? e.message : e);
    return [...which].sort().map((id) => ({ kind: 'failed' as const, id, title: `figure ${id} setup`, error }));
  }
  const out: Figure[] = [];
  try {
    if (which.has('1')) out.push(...(await figure1(ctx, h)));
    if (which.has('2')) {
      try {
        out.push(await figure2(ctx, h));
      } catch (e) {
        out.push({ kind: 'failed', id: '2', title: 'ranged GET on a signed URI vs nginx secure_link', error: String(e instanceof Error ? e.stack ?? e.message : e) });
      }
    }
  } finally {
    await h.rg.child.stop();
  }
  return out.map((f) => (f.kind === 'ab' ? { ...f, checks: [...f.checks, `regate: ${h.rg.command}`] } : f));
}
