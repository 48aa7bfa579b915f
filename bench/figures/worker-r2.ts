/**
 * @module worker-r2
 * Figure 7: a 1 GiB download through the regate Worker from R2, against a minimal Worker returning the same R2
 * object's body (bench/peers/r2-minimal-worker.js). Both run as a user runs a Worker locally, `wrangler dev
 * --local` on 127.0.0.1 (workerd, R2 and D1 as miniflare 5 runs them), over ONE persisted state directory, so
 * they read the very same R2 object.
 *
 * regate (the repo's wrangler.toml, secrets passed as `--var`) is set up over its HTTP API only: a creator
 * uploads `model/data/weights.bin` (1 GiB of random bytes; smoke 64 MiB) by raw DBFS POST, registers it
 * (model-versions/create copies it into managed storage in R2), grants a reader CAN_READ; the reader's signed
 * URI is what is downloaded. The peer serves the managed copy's key (from the version's storage_location).
 *
 * Before timing, each side's download is checked: status 200, `Content-Length` exactly the size (no chunked
 * encoding), SHA-256 equal to the uploaded bytes'. Then rounds of one curl download per side (order alternating,
 * the body to /dev/null), while workerd's RSS is sampled (/proc) to show memory does not grow with the file.
 * Goal: regate's throughput ≥ 0.9 × the peer's (median of the per-round ratios).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkDownloads, curlTimed, median, randomFile, type TimedRun } from '../lib/curl-download.ts';
import { NODE, ROOT } from '../lib/paths.ts';
import { runAsync, spawnLogged, waitForHttp, type Child } from '../lib/procs.ts';
import { publishFile } from '../lib/publish-file.ts';
import type { Regate } from '../lib/regate.ts';
import { freePort } from '../../test/helpers/s3-server.ts';
import type { RunContext } from '../lib/context.ts';
import type { Figure } from '../lib/results.ts';

const MODEL = 'bench-worker-r2';
const FILE = 'data/weights.bin';
const MiB = 1024 * 1024;
const MB = 1e6;
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
const PEER = join(ROOT, 'bench', 'peers', 'r2-minimal-worker.js');
/** The R2 bucket both Workers bind as ARTIFACTS: wrangler.toml's bucket_name, so the peer sees regate's objects. */
const BUCKET = 'regate-artifacts';


/** `wrangler dev --local` of `config`, on a free port, state in `persist`; resolves once it serves. */
async function wranglerDev(name: string, config: string, persist: string, logPath: string, vars: Record<string, string>): Promise<{ child: Child; url: string; args: string[] }> {
  const [port, inspector] = [await freePort(), await freePort()];
  const args = ['dev', '--config', config, '--local', '--persist-to', persist, '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector), '--show-interactive-dev-session=false', '--log-level', 'warn'];
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`);
  const env: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1' };
  const child = spawnLogged({ name, cmd: NODE, args: [WRANGLER, ...args], cwd: ROOT, env, logPath });
  const url = `http://127.0.0.1:${port}`;
  // Ready when it answers HTTP (any status): wrangler's own "Ready" line comes before the Worker can serve.
  await waitForHttp(child, url, 120_000, 300);
  return { child, url, args };
}

/** User + system CPU seconds a process has used so far (/proc/<pid>/stat; clock ticks of 1/100 s on Linux). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * The repo's Worker bundled once, and a copy of wrangler.toml that serves that bundle as is (`no_bundle`).
 * `wrangler dev` on the repo's own config rebuilds and restarts the Worker whenever a source file changes,
 * which would cut a download short (or time a rebuild); the bundle in the work dir never changes.
 */
async function frozenWorker(base: string): Promise<string> {
  const out = join(base, 'bundle');
  const r = await runAsync(NODE, [WRANGLER, 'deploy', '--dry-run', '--outdir', out, '--config', join(ROOT, 'wrangler.toml')], { cwd: ROOT, timeoutMs: 5 * 60_000, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1' } });
  if (r.code !== 0) throw new Error(`wrangler deploy --dry-run failed (exit ${r.code}):\n${(r.stderr + r.stdout).slice(-2000)}`);
  const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
  const main = /^main = .*$/m;
  if (!main.test(toml)) throw new Error('wrangler.toml has no `main = ...` line');
  const frozen = toml
    .replace(main, `main = ${JSON.stringify(join(out, 'worker.js'))}\nno_bundle = true\nfind_additional_modules = true\nbase_dir = ${JSON.stringify(out)}`)
    .replace(/"\.\/node_modules\//g, `"${ROOT}/node_modules/`)
    .replace(/^migrations_dir = "(.*)"$/m, (_m, d: string) => `migrations_dir = ${JSON.stringify(join(ROOT, d))}`);
  const path = join(base, 'regate.wrangler.toml');
  writeFileSync(path, frozen);
  return path;
}

/** The workerd process below a wrangler process (its RSS is the Worker's memory). */
function workerdBelow(pid: number): number | undefined {
  const parent = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const text = readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  for (const [p] of parent) {
    let q: number | undefined = p;
    for (let depth = 0; q !== undefined && depth < 8; depth++) {
      q = parent.get(q);
      if (q === pid) {
        try {
          if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('workerd')) return p;
        } catch {
          // gone
        }
        break;
      }
    }
  }
  return undefined;
}

export async function workerR2Figure(ctx: RunContext): Promise<Figure> {
  const size = ctx.smoke ? 64 * MiB : 1024 * MiB;
  const title = `${size / MiB} MiB download through the regate Worker from R2 vs a minimal Worker returning the R2 body (wrangler dev --local, one R2 state)`;
  const base = join(ctx.workDir, 'worker-r2');
  const persist = join(base, 'state');
  mkdirSync(persist, { recursive: true });
  const children: Child[] = [];
  try {
    const blob = join(base, 'weights.bin');
    ctx.log(`figure 7: writing ${size / MiB} MiB of random bytes`);
    const sha256 = await randomFile(blob, size);

    const adminToken = `dapi${randomBytes(16).toString('hex')}`;
    const vars = {
      REGATE_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      REGATE_ADMIN_TOKEN: adminToken,
      REGATE_SIGNED_URI_TTL_SECONDS: '900',
    };
    ctx.log('figure 7: bundling the regate Worker once (wrangler deploy --dry-run --outdir)');
    const config = await frozenWorker(base);
    ctx.log('figure 7: starting the regate Worker (wrangler dev --local)');
    const rg = await wranglerDev('regate worker', config, persist, join(base, 'regate.log'), vars);
    children.push(rg.child);
    const regate: Regate = { url: rg.url, adminToken, dataDir: persist, child: rg.child, command: '' };
    const { signedUrl: regateUrl, key } = await publishFile(regate, { model: MODEL, file: FILE, blob, log: (m) => ctx.log(`figure 7: ${m}`) });

    const peerConfig = join(base, 'peer.wrangler.toml');
    writeFileSync(
      peerConfig,
      [`name = "r2-minimal"`, `main = ${JSON.stringify(PEER)}`, `compatibility_date = "2026-10-01"`, '', '[[r2_buckets]]', 'binding = "ARTIFACTS"', `bucket_name = "${BUCKET}"`, ''].join('\n'),
    );
    ctx.log('figure 7: starting the minimal Worker on the same state');
    const peer = await wranglerDev('minimal R2 worker', peerConfig, persist, join(base, 'peer.log'), {});
    children.push(peer.child);
    const peerUrl = `${peer.url}/${key.split('/').map(encodeURIComponent).join('/')}`;

    // Correctness before any timing: exact length, no chunking, the uploaded bytes.
    const checks = await checkDownloads(
      [
        { name: 'regate', url: regateUrl, tail: () => rg.child.tail() },
        { name: 'peer', url: peerUrl, tail: () => peer.child.tail() },
      ],
      size,
      sha256,
    );

    const workerd = { regate: workerdBelow(rg.child.pid), peer: workerdBelow(peer.child.pid) };
    const runs: { regate: TimedRun[]; peer: TimedRun[] } = { regate: [], peer: [] };
    // workerd's CPU seconds per download: on a shared machine a steadier measure of the Worker's own cost than time.
    const cpu: { regate: number[]; peer: number[] } = { regate: [], peer: [] };
    for (let round = 0; round < ctx.rounds; round++) {
      const order = round % 2 === 0 ? (['regate', 'peer'] as const) : (['peer', 'regate'] as const);
      for (const side of order) {
        ctx.log(`figure 7: round ${round + 1}/${ctx.rounds}, ${side}`);
        const before = cpuSeconds(workerd[side]);
        runs[side].push(await curlTimed(side === 'regate' ? regateUrl : peerUrl, size, workerd[side]));
        cpu[side].push(cpuSeconds(workerd[side]) - before);
      }
    }
    const ratios = runs.regate.map((r, i) => r.mbPerS / runs.peer[i]!.mbPerS);
    const ratio = median(ratios);
    // Other load on a shared machine only ever slows a download: each side's fastest run is its least disturbed.
    const best = (rs: TimedRun[]) => Math.max(...rs.map((r) => r.mbPerS));
    const bestRatio = best(runs.regate) / best(runs.peer);
    const growth = (rs: TimedRun[]) => Math.max(...rs.map((r) => r.rssPeakMB - r.rssBeforeMB));
    const fmt = (rs: TimedRun[]) => rs.map((r) => `${r.mbPerS.toFixed(0)} MB/s (${r.seconds.toFixed(2)} s; workerd RSS ${r.rssBeforeMB.toFixed(0)} → peak ${r.rssPeakMB.toFixed(0)} MB)`).join('; ');
    const goal = (met: boolean) => (ctx.smoke ? 'not judged (smoke)' : met ? 'met' : 'missed');
    const wr = `node ${WRANGLER.replace(`${ROOT}/`, '')}`;
    const tmp = (x: string) => x.replaceAll(ctx.workDir, '<tmp>');
    const command = [
      `${wr} deploy --dry-run --outdir <tmp>/worker-r2/bundle --config wrangler.toml   (then wrangler.toml with main = that bundle, no_bundle = true)`,
      tmp(`${wr} ${rg.args.join(' ')}`).replace(vars.REGATE_KEY_ENCRYPTION_KEY, '<kek>').replace(adminToken, '<admin token>'),
      tmp(`${wr} ${peer.args.join(' ')}   (peer.wrangler.toml: main = bench/peers/r2-minimal-worker.js, ARTIFACTS = ${BUCKET})`),
      `curl -sS -o /dev/null -w '%{http_code} %{size_download} %{time_total}' <signed URI | peer URL>`,
    ].join('\n');
    const pkgVersion = (pkg: string) => (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
    const detail = [
      `wrangler ${pkgVersion('wrangler')}, miniflare ${pkgVersion('miniflare')}, workerd ${pkgVersion('workerd')}; the Worker bundled from the working tree at the start of the figure`,
      `object: ${size} random bytes, uploaded through the regate Worker and registered; R2 key ${key}`,
      ...checks,
      `regate (signed URI, reader with CAN_READ): ${fmt(runs.regate)}`,
      `peer (bench/peers/r2-minimal-worker.js): ${fmt(runs.peer)}`,
      `regate ÷ peer throughput per round: ${ratios.map((r) => r.toFixed(3)).join(', ')}; median ${ratio.toFixed(3)}`,
      `fastest run of each side: regate ${best(runs.regate).toFixed(0)} MB/s, peer ${best(runs.peer).toFixed(0)} MB/s, ratio ${bestRatio.toFixed(3)}`,
      `workerd CPU seconds per download: regate ${cpu.regate.map((x) => x.toFixed(2)).join(', ')} (median ${median(cpu.regate).toFixed(2)}); peer ${cpu.peer.map((x) => x.toFixed(2)).join(', ')} (median ${median(cpu.peer).toFixed(2)})`,
      `workerd RSS growth during a download (peak − before): regate ${growth(runs.regate).toFixed(0)} MB, peer ${growth(runs.peer).toFixed(0)} MB, for a ${(size / MB).toFixed(0)} MB body`,
      `goal ratio ≥ 0.9 (median of the per-round ratios): ${goal(ratio >= 0.9)} (${ratio.toFixed(3)}); memory flat (growth < 64 MB): ${goal(growth(runs.regate) < 64)}`,
    ];
    return {
      kind: 'external',
      id: '7',
      title,
      command,
      status: 'ok',
      detail: detail.join('\n'),
      json: {
        bytes: size,
        sha256,
        rounds: ctx.rounds,
        regateMBps: runs.regate.map((r) => Number(r.mbPerS.toFixed(1))),
        peerMBps: runs.peer.map((r) => Number(r.mbPerS.toFixed(1))),
        ratios: ratios.map((r) => Number(r.toFixed(3))),
        medianRatio: Number(ratio.toFixed(3)),
        bestOfRatio: Number(bestRatio.toFixed(3)),
        workerdCpuSeconds: { regate: cpu.regate.map((x) => Number(x.toFixed(2))), peer: cpu.peer.map((x) => Number(x.toFixed(2))) },
        rssGrowthMB: { regate: Math.round(growth(runs.regate)), peer: Math.round(growth(runs.peer)) },
      },
    };
  } catch (e) {
    return { kind: 'failed', id: '7', title, error: `${String(e instanceof Error ? e.stack ?? e.message : e)}\n${children.map((c) => `--- ${c.name}\n${c.tail()}`).join('\n')}` };
  } finally {
    for (const c of children.reverse()) await c.stop();
  }
}
