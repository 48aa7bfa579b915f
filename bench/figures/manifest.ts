/**
 * @module manifest-bench
 * Figure 9: `regate pull` (src/cli, one manifest call, 16 downloads at a time, SHA-256 verified) against the MLflow
 * client's `mlflow.artifacts.download_artifacts("models:/NAME/1")` (bench/mlflow/client.py in .venv-bench, the
 * same client, pins and environment as figure 4), both against one regate (`node src/runtime/node.ts`, local
 * store), on figure 4's workloads: MLmodel + 2,000 files of 64 KiB, and MLmodel + one 1 GiB file (smoke: 20 files,
 * 8 MiB).
 *
 * Set-up over regate's HTTP API only (not timed): a creator uploads each workload by raw DBFS POST and registers
 * it; a reader gets CAN_READ. Both clients run as the reader, each as a fresh process (whole-process wall time:
 * what a user waits for). Correctness first: one run of each client per workload into a fresh directory, every
 * file's SHA-256 and the exact file set compared with the source (MLflow's own `registered_model_meta` allowed);
 * the MLflow run also creates and migrates its sqlite tracking store, as figure 4 does before timing. Then rounds,
 * order alternating (A,B / B,A …), each into an empty directory. Ratios are MLflow ÷ puller, per round, median.
 * Goals (issue 11): ≥ 5× faster on 2,000 files; no slower on 1 GiB.
 *
 *   node bench/figures/manifest.ts [--rounds N] [--smoke] [--out FILE.md]   (also: npm run bench -- --only 9)
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { ok } from '../lib/http.ts';
import { BENCH, NODE, ROOT } from '../lib/paths.ts';
import { killAllNow, runAsync } from '../lib/procs.ts';
import { createModel, createVersion, grant, makeUser, modelId, startRegate, UPLOAD_AREA, type Regate } from '../lib/regate.ts';
import { median, randomFile } from '../lib/curl-download.ts';
import type { RunContext } from '../lib/context.ts';
import type { Figure } from '../lib/results.ts';

const MiB = 1024 * 1024;
const PY = join(ROOT, '.venv-bench', 'bin', 'python');
const CLIENT = join(BENCH, 'mlflow', 'client.py');
const PULL = join(ROOT, 'src', 'cli', 'regate.ts');
const META = 'registered_model_meta';

interface Workload {
  key: string;
  title: string;
  src: string;
  /** relative path → SHA-256 */
  files: Map<string, string>;
  bytes: number;
}

export interface Row {
  workload: string;
  pullS: number[];
  mlflowS: number[];
  mlflowCallS: number[];
  ratios: number[];
  callRatios: number[];
}

export interface ManifestBenchResult {
  rows: Row[];
  checks: string[];
  commands: string[];
  goals: Array<{ text: string; met: boolean; observed: string }>;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function makeWorkloads(dir: string, smoke: boolean): Promise<Workload[]> {
  const mlmodel = Buffer.from('artifact_path: model\nflavors: {}\n');
  const [n, big] = smoke ? [20, 8 * MiB] : [2000, 1024 * MiB];
  const out: Workload[] = [];
  for (const [key, title, parts] of [
    ['files', `${n} files x 64 KiB`, Array.from({ length: n }, (_, i) => [`data/part-${String(i).padStart(5, '0')}.bin`, 64 * 1024] as const)],
    ['big', `one ${big / MiB} MiB file`, [['data/weights.bin', big] as const]],
  ] as const) {
    const src = join(dir, key, 'model');
    mkdirSync(join(src, 'data'), { recursive: true });
    const files = new Map<string, string>();
    writeFileSync(join(src, 'MLmodel'), mlmodel);
    files.set('MLmodel', sha(mlmodel));
    let bytes = mlmodel.length;
    for (const [rel, size] of parts) {
      files.set(rel, await randomFile(join(src, rel), size));
      bytes += size;
    }
    out.push({ key, title, src, files, bytes });
  }
  return out;
}

async function uploadFile(rg: Regate, token: string, uploadId: string, rel: string, path: string): Promise<void> {
  const res = await fetch(new URL(`/dbfs${UPLOAD_AREA}/${uploadId}/${rel}`, rg.url), {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}` },
    body: Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>,
    duplex: 'half',
  } as RequestInit);
  if (res.status !== 200) throw new Error(`upload ${rel}: ${res.status} ${await res.text()}`);
}

async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 4 * MiB })) h.update(c as Buffer);
  return h.digest('hex');
}

/** null when `dir` holds exactly the workload's files with their SHA-256 (plus MLflow's meta file). */
async function verify(dir: string, wl: Workload): Promise<string | null> {
  const got = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)))
    .filter((p) => p !== META);
  const want = [...wl.files.keys()];
  const missing = want.filter((p) => !got.includes(p));
  const extra = got.filter((p) => !wl.files.has(p));
  if (missing.length || extra.length) return `missing ${missing.slice(0, 5)} (${missing.length}), unexpected ${extra.slice(0, 5)} (${extra.length})`;
  for (const [rel, digest] of wl.files) if ((await hashFile(join(dir, rel))) !== digest) return `SHA-256 mismatch on ${rel}`;
  return null;
}

export async function runManifestBench(o: { workDir: string; rounds: number; smoke: boolean; log: (m: string) => void }): Promise<ManifestBenchResult> {
  // Figure 4's venv (the MLflow client); its setup is idempotent, and this figure may run before figure 4.
  if (!existsSync(PY)) {
    o.log('preparing .venv-bench (bench/mlflow/setup.sh)');
    const r = await runAsync('bash', [join(ROOT, 'bench', 'mlflow', 'setup.sh')], { timeoutMs: 15 * 60_000, cwd: ROOT });
    if (r.code !== 0 || !existsSync(PY)) throw new Error(`bench/mlflow/setup.sh failed (${r.code ?? r.signal}): ${r.stderr.slice(-2000)}`);
  }
  const wls = await makeWorkloads(join(o.workDir, 'src'), o.smoke);
  const rg = await startRegate(join(o.workDir, 'regate'), 'manifest');
  const checks: string[] = [];
  try {
    const creator = await makeUser(rg, 'creator@bench');
    const reader = await makeUser(rg, 'reader@bench');
    for (const wl of wls) {
      const name = `bench-${wl.key}`;
      await createModel(rg, creator.token, name);
      for (const rel of wl.files.keys()) await uploadFile(rg, creator.token, wl.key, `model/${rel}`, join(wl.src, rel));
      await createVersion(rg, creator.token, name, `dbfs:${UPLOAD_AREA}/${wl.key}/model`);
      await grant(rg, creator.token, await modelId(rg, creator.token, name), reader.name, 'CAN_READ');
      o.log(`manifest: registered ${name} (${wl.title})`);
    }
    const trackingDb = join(o.workDir, 'tracking', 'mlflow.db');
    mkdirSync(join(o.workDir, 'tracking'), { recursive: true });
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!/^(REGATE_|DATABRICKS_|MLFLOW_|PYTHONPATH)/.test(k)) env[k] = v;
    Object.assign(env, {
      DATABRICKS_HOST: rg.url,
      DATABRICKS_TOKEN: reader.token,
      DATABRICKS_CONFIG_FILE: join(o.workDir, 'no-databrickscfg'),
      MLFLOW_REGISTRY_URI: 'databricks',
      MLFLOW_TRACKING_URI: `sqlite:///${trackingDb}`,
      MLFLOW_DISABLE_TELEMETRY: 'true',
      DO_NOT_TRACK: 'true',
    });
    const sides = {
      pull: (wl: Workload, dst: string) => [NODE, [PULL, 'pull', `models:/bench-${wl.key}/1`, dst]] as const,
      mlflow: (wl: Workload, dst: string) => [PY, [CLIENT, 'download', '--uri', `models:/bench-${wl.key}/1`, '--dst', dst]] as const,
    };
    const once = async (side: keyof typeof sides, wl: Workload, tag: string) => {
      const dst = join(o.workDir, 'out', `${side}-${wl.key}-${tag}`);
      rmSync(dst, { recursive: true, force: true });
      mkdirSync(dst, { recursive: true });
      const [cmd, args] = sides[side](wl, dst);
      const t0 = performance.now();
      const r = await runAsync(cmd, [...args], { timeoutMs: 15 * 60_000, cwd: ROOT, env });
      const wall = (performance.now() - t0) / 1000;
      if (r.code !== 0) throw new Error(`${side} ${wl.key}: exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-4000)}`);
      const call = side === 'mlflow' ? Number(JSON.parse(r.stdout.trim().split('\n').at(-1)!).call_s) : NaN;
      return { dst, wall, call };
    };
    const rows: Row[] = [];
    for (const wl of wls) {
      // Correctness before timing (and the MLflow side's tracking store created and migrated).
      for (const side of ['pull', 'mlflow'] as const) {
        const { dst } = await once(side, wl, 'check');
        const problem = await verify(dst, wl);
        if (problem) throw new Error(`${side} on ${wl.title}: ${problem}`);
        rmSync(dst, { recursive: true, force: true });
      }
      checks.push(`${wl.title}: both clients wrote exactly the ${wl.files.size} files, every SHA-256 equal to the source's`);
      const row: Row = { workload: wl.title, pullS: [], mlflowS: [], mlflowCallS: [], ratios: [], callRatios: [] };
      for (let i = 0; i < o.rounds; i++) {
        const order = i % 2 === 0 ? (['pull', 'mlflow'] as const) : (['mlflow', 'pull'] as const);
        const got: Record<string, { wall: number; call: number }> = {};
        for (const side of order) {
          const r = await once(side, wl, `r${i}`);
          got[side] = r;
          rmSync(r.dst, { recursive: true, force: true });
        }
        row.pullS.push(got.pull!.wall);
        row.mlflowS.push(got.mlflow!.wall);
        row.mlflowCallS.push(got.mlflow!.call);
        row.ratios.push(got.mlflow!.wall / got.pull!.wall);
        row.callRatios.push(got.mlflow!.call / got.pull!.wall);
        o.log(`manifest: ${wl.key} round ${i + 1}: pull ${got.pull!.wall.toFixed(2)} s, mlflow ${got.mlflow!.wall.toFixed(2)} s (call ${got.mlflow!.call.toFixed(2)} s)`);
      }
      rows.push(row);
    }
    const files = rows[0]!;
    const big = rows[1]!;
    const goals = [
      { text: '2,000 files: puller ≥ 5× faster than download_artifacts (whole process)', met: median(files.ratios) >= 5, observed: `${median(files.ratios).toFixed(1)}×` },
      { text: '1 GiB: puller no slower than download_artifacts (whole process)', met: median(big.ratios) >= 1, observed: `${median(big.ratios).toFixed(2)}×` },
    ];
    const shownEnv = 'DATABRICKS_HOST=<regate> DATABRICKS_TOKEN=<reader token> MLFLOW_REGISTRY_URI=databricks MLFLOW_TRACKING_URI=sqlite:///<tmp>/mlflow.db';
    const commands = [
      `regate: ${rg.command}`,
      `A (puller): ${shownEnv} node src/cli/regate.ts pull models:/<name>/1 <empty dir>   (= npx regate pull …)`,
      `B (MLflow): ${shownEnv} .venv-bench/bin/python bench/mlflow/client.py download --uri models:/<name>/1 --dst <empty dir>`,
    ];
    return { rows, checks, commands, goals };
  } finally {
    await rg.child.stop();
  }
}

const f2 = (xs: number[]) => `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;

export function renderManifestBench(r: ManifestBenchResult, command: string, rounds: number): string {
  const lines = [
    '| workload | puller wall s | MLflow wall s | MLflow call s | MLflow ÷ puller (wall) | MLflow call ÷ puller wall |',
    '|---|---|---|---|---|---|',
    ...r.rows.map(
      (x) =>
        `| ${x.workload} | ${f2(x.pullS)} | ${f2(x.mlflowS)} | ${f2(x.mlflowCallS)} | **${median(x.ratios).toFixed(2)}×** (${Math.min(...x.ratios).toFixed(2)}–${Math.max(...x.ratios).toFixed(2)}) | ${median(x.callRatios).toFixed(2)}× |`,
    ),
  ];
  return [
    `Median (min–max) over ${rounds} round(s), order alternating; ratios per round, then the median.`,
    '',
    ...lines,
    '',
    '**Goals**',
    '',
    ...r.goals.map((g) => `- ${g.text}: **${g.met ? 'met' : 'missed'}** (${g.observed})`),
    '',
    '**Checks (before timing)**',
    '',
    ...r.checks.map((c) => `- ${c}`),
    '',
    '**Commands**',
    '',
    '```',
    command,
    ...r.commands,
    '```',
  ].join('\n');
}

/** For bench/run.ts (`--only 9`). */
export async function manifestFigure(ctx: RunContext): Promise<Figure> {
  const command = 'npm run bench -- --only 9';
  try {
    const r = await runManifestBench({ workDir: join(ctx.workDir, 'manifest'), rounds: ctx.rounds, smoke: ctx.smoke, log: ctx.log });
    return { kind: 'external', id: '9', title: 'regate pull vs the MLflow client download_artifacts', command, status: 'ok', detail: renderManifestBench(r, command, ctx.rounds) };
  } catch (e) {
    return { kind: 'failed', id: '9', title: 'regate pull vs the MLflow client download_artifacts', error: String(e instanceof Error ? (e.stack ?? e.message) : e) };
  }
}

if (import.meta.main) {
  const { values: a } = parseArgs({ options: { rounds: { type: 'string' }, smoke: { type: 'boolean', default: false }, out: { type: 'string' }, keep: { type: 'boolean', default: false } } });
  const rounds = Number(a.rounds ?? (a.smoke ? 1 : 3));
  const workDir = mkdtempSync(join(tmpdir(), 'regate-manifest-bench-'));
  process.on('exit', () => {
    killAllNow();
    if (!a.keep) rmSync(workDir, { recursive: true, force: true });
  });
  const started = Date.now();
  const log = (m: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}\n`);
  const command = `node bench/figures/manifest.ts --rounds ${rounds}${a.smoke ? ' --smoke' : ''}`;
  const r = await runManifestBench({ workDir, rounds, smoke: a.smoke, log });
  const md = renderManifestBench(r, command, rounds);
  if (a.out) writeFileSync(a.out, `${md}\n`);
  console.log(md);
}
