/**
 * @module run
 * The benchmark suite's one entry: `npm run bench` (root) = `node bench/run.ts`. Runs figures 1–5 (see
 * bench/README.md), writes bench/results/<YYYY-MM-DD>.md, prints a summary. Exit code 1 when any figure failed a
 * correctness check (or could not run), 0 otherwise; speed never fails a run.
 *
 *   node bench/run.ts [--smoke] [--out <file.md>] [--only 1,2,5,6] [--rounds N] [--seconds N] [--sizes 1000,10000] [--keep]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH, ROOT } from './lib/paths.ts';
import { machine, resolvedVersion, versions } from './lib/machine.ts';
import { killAllNow, runSync } from './lib/procs.ts';
import { consoleSummary, renderReport } from './lib/report.ts';
import { passed, type Figure } from './lib/results.ts';
import type { RunContext } from './lib/context.ts';
import { hotFigures } from './figures/hot.ts';
import { growthFigure } from './figures/growth.ts';
import { memoryFigure, mlflowFigure } from './figures/external.ts';
import { stalledFigure } from './figures/stalled.ts';
import { workerR2Figure } from './figures/worker-r2.ts';
import { nodeS3Figure } from './figures/node-s3.ts';
import { manifestFigure } from './figures/manifest.ts';

const USAGE = `usage: node bench/run.ts [--smoke] [--out <file.md>] [--only 1,2,3,4,5,6,7,8,9] [--rounds N] [--seconds N] [--warmup N]
                        [--sizes 1000,10000,50000] [--keep]
  --smoke    tiny sizes and durations (CI); writes to a temp file unless --out is given; speed is not judged
  --out      where to write the results (default: bench/results/<YYYY-MM-DD>.md; smoke: a temp file)
  --only     figures to run (default: all)
  --rounds   A/B rounds, each side once per round, order alternating (default 3; smoke 1)
  --seconds  wrk duration per run (default 10; smoke 1); --warmup: warm-up per side (default 3; smoke 1)
  --sizes    figure 5's model counts (default 1000,10000,50000; smoke 40,320)
  --keep     keep the temporary work directory (data dirs, server logs)`;

function fail(msg: string): never {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

const { values: a } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    out: { type: 'string' },
    only: { type: 'string' },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    sizes: { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (a.help) {
  console.log(USAGE);
  process.exit(0);
}
const smoke = a.smoke;
const posInt = (name: string, v: string | undefined, dflt: number, max: number) => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) fail(`--${name} must be an integer from 1 to ${max}, got ${v}`);
  return n;
};
const only = new Set((a.only ?? '1,2,3,4,5,6,7,8,9').split(',').map((s) => s.trim()).filter(Boolean));
for (const id of only) if (!['1', '2', '3', '4', '5', '6', '7', '8', '9'].includes(id)) fail(`--only takes figure numbers 1-9, got ${id}`);
const sizes = (a.sizes ?? (smoke ? '40,320' : '1000,10000,50000')).split(',').map((s) => posInt('sizes', s, 0, 500_000));
if (sizes.some((s, i) => i > 0 && s <= sizes[i - 1]!)) fail('--sizes must be ascending');

// Preflight: the tools and versions the figures need, before anything starts.
const need = [...(only.has('1') || only.has('2') || only.has('5') ? ['wrk'] : []), ...(only.has('2') ? ['nginx'] : []), ...(only.has('3') || only.has('7') || only.has('8') ? ['curl'] : [])];
for (const tool of need) {
  if (runSync('sh', ['-c', `command -v ${tool}`], { timeoutMs: 5000 }).status !== 0) fail(`${tool} is not installed (Debian: apt-get install -y nginx-light wrk curl)`);
}
if (!process.versions.node.startsWith('24.')) fail(`run on the project's Node 24 (npm run bench, or node_modules/.bin/node), not ${process.version}`);
const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
const benchPkg = JSON.parse(readFileSync(join(BENCH, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
for (const pkg of ['hono', '@hono/node-server']) {
  const got = resolvedVersion(pkg);
  const root = rootPkg.dependencies?.[pkg];
  const bench = benchPkg.dependencies?.[pkg];
  if (got !== root || got !== bench) fail(`${pkg}: bench/ resolves ${got}, the root pins ${root}, bench/package.json pins ${bench}: they must be equal (npm ci at the root)`);
}

const started = new Date();
const date = started.toISOString().slice(0, 10);
const outPath = resolve(a.out ?? (smoke ? join(tmpdir(), `regate-bench-smoke-${date}.md`) : join(BENCH, 'results', `${date}.md`)));
const workDir = mkdtempSync(join(tmpdir(), 'regate-bench-'));
// Also on an interrupted or crashed run: children first (they write into the work dir), then the dir.
process.on('exit', () => {
  killAllNow();
  if (!a.keep) rmSync(workDir, { recursive: true, force: true });
});
const log = (msg: string) => process.stderr.write(`[${((Date.now() - started.getTime()) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);

const ctx: RunContext = {
  smoke,
  workDir,
  rounds: posInt('rounds', a.rounds, smoke ? 1 : 3, 20),
  seconds: posInt('seconds', a.seconds, smoke ? 1 : 10, 600),
  warmSeconds: posInt('warmup', a.warmup, smoke ? 1 : 3, 60),
  threads: 2,
  connections: 64,
  log,
  fileBytes: smoke ? 64 * 1024 : 4 * 1024 * 1024,
  growthSizes: sizes,
  growthMaxCount: smoke ? 5 : 200,
  growthMinCount: smoke ? 2 : 20,
  growthMaxMs: smoke ? 300 : 4000,
  seedConcurrency: 8,
  seedDeadlineMs: 20 * 60_000,
};

const args = process.argv.slice(2);
const command = `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}   (= node bench/run.ts${args.length ? ` ${args.join(' ')}` : ''})`;
const settings = [
  `mode: ${smoke ? 'smoke' : 'full'}; figures: ${[...only].sort().join(', ')}`,
  `wrk -t${ctx.threads} -c${ctx.connections} -d${ctx.seconds}s --latency --timeout 30s; warm-up ${ctx.warmSeconds} s per side (discarded); ${ctx.rounds} round(s) of regate and its peer, order alternating (A,B / B,A / …)`,
  `figure 2 file: ${ctx.fileBytes} random bytes; figure 5 sizes: ${sizes.join(', ')} models`,
  `servers, data dirs and logs in a fresh temp dir, ${a.keep ? 'kept (--keep)' : 'removed at the end'}`,
];

log(`work dir ${workDir}; results → ${outPath}`);
const mach = machine();
const vers = versions();
const figures: Figure[] = [];
let exitCode = 0;
try {
  if (only.has('1') || only.has('2')) figures.push(...(await hotFigures(ctx, new Set([...only].filter((x) => x === '1' || x === '2')))));
  if (only.has('5')) figures.push(await growthFigure(ctx));
  if (only.has('6')) figures.push(await stalledFigure(ctx));
  if (only.has('7')) figures.push(await workerR2Figure(ctx));
  if (only.has('8')) figures.push(await nodeS3Figure(ctx));
  if (only.has('9')) figures.push(await manifestFigure(ctx));
  if (only.has('3')) figures.push(await memoryFigure(ctx));
  if (only.has('4')) {
    const jsonPath = outPath.replace(/\.md$/, '') + '.mlflow.json';
    figures.push(await mlflowFigure(ctx, jsonPath));
  }
} catch (e) {
  figures.push({ kind: 'failed', id: '?', title: 'runner', error: String(e instanceof Error ? e.stack ?? e.message : e) });
} finally {
  figures.sort((x, y) => x.id.localeCompare(y.id));
  const report = renderReport({
    date,
    mode: smoke ? 'smoke' : 'full',
    command,
    startedAt: started.toISOString(),
    durationS: (Date.now() - started.getTime()) / 1000,
    machine: mach,
    versions: vers,
    settings,
    figures: figures.map((f) => (f.kind === 'external' && f.jsonPath ? { ...f, jsonPath: relative(ROOT, f.jsonPath) } : f)),
  });
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, report);
  if (a.keep) log(`kept ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
  console.log(consoleSummary(figures));
  if (smoke) console.log(`\n${report}`);
  const failed = figures.filter((f) => !passed(f));
  console.log(`\nwrote ${outPath}${failed.length ? `\nFAILED (correctness or could not run): ${failed.map((f) => f.id).join(', ')}` : '\nall checks passed'}`);
  exitCode = failed.length ? 1 : 0;
}
process.exit(exitCode);
