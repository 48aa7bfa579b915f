/**
 * @module external
 * Figures 3 and 4 are owned elsewhere and run here as their own processes:
 * 3. `node bench/memory/stream-1gib.ts [--smoke]`: 1 GiB throughput and RSS; its last stdout line is JSON.
 * 4. `bash bench/mlflow/run.sh [--smoke] <out.json>`: the real MLflow client vs `mlflow server --app-name basic-auth`.
 * A non-zero exit, a time-out or a missing JSON is a failed figure.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH, NODE, ROOT } from '../lib/paths.ts';
import { runAsync } from '../lib/procs.ts';
import type { RunContext } from '../lib/context.ts';
import type { Figure } from '../lib/results.ts';

const tail = (s: string, n = 15) => s.trim().split('\n').slice(-n).join('\n');

export async function memoryFigure(ctx: RunContext): Promise<Figure> {
  const title = 'Streaming 1 GiB: throughput and RSS (bench/memory/, owned separately)';
  const args = ['bench/memory/stream-1gib.ts', ...(ctx.smoke ? ['--smoke'] : [])];
  const command = `node ${args.join(' ')}`;
  if (!existsSync(join(BENCH, 'memory', 'stream-1gib.ts'))) return { kind: 'external', id: '3', title, command, status: 'failed', detail: 'bench/memory/stream-1gib.ts does not exist' };
  ctx.log(`figure 3: ${command}`);
  const r = await runAsync(NODE, args, { cwd: ROOT, timeoutMs: ctx.smoke ? 90_000 : 30 * 60_000, echoStderr: !ctx.smoke });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.timedOut || r.code !== 0) {
    return { kind: 'external', id: '3', title, command, status: 'failed', detail: `${r.timedOut ? 'time limit reached' : `exit ${r.code ?? r.signal}`}\n${tail(r.stderr + r.stdout)}` };
  }
  try {
    const table = r.stdout.trim().split('\n').slice(0, -1).join('\n');
    return { kind: 'external', id: '3', title, command, status: 'ok', detail: table, json: JSON.parse(last) };
  } catch {
    return { kind: 'external', id: '3', title, command, status: 'failed', detail: `the last stdout line is not JSON: ${last.slice(0, 300)}` };
  }
}

export async function mlflowFigure(ctx: RunContext, jsonPath: string): Promise<Figure> {
  const title = 'The real MLflow client: regate vs mlflow server --app-name basic-auth (bench/mlflow/, owned separately)';
  const args = ['bench/mlflow/run.sh', ...(ctx.smoke ? ['--smoke'] : []), jsonPath];
  const command = `bash ${args.join(' ')}`;
  if (!existsSync(join(BENCH, 'mlflow', 'run.sh'))) return { kind: 'external', id: '4', title, command, status: 'failed', detail: 'bench/mlflow/run.sh does not exist' };
  ctx.log(`figure 4: ${command}`);
  const r = await runAsync('bash', args, { cwd: ROOT, timeoutMs: ctx.smoke ? 15 * 60_000 : 3 * 60 * 60_000, echoStderr: true });
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(jsonPath, 'utf8'));
  } catch {
    json = undefined;
  }
  if (r.timedOut || r.code !== 0 || json === undefined) {
    const why = r.timedOut ? 'time limit reached' : r.code !== 0 ? `exit ${r.code ?? r.signal}` : `no JSON in ${jsonPath}`;
    return { kind: 'external', id: '4', title, command, status: 'failed', detail: `${why}\n${tail(r.stderr + r.stdout)}`, ...(json ? { json } : {}) };
  }
  // Its own summary table starts at the line beginning with "figure".
  const out = r.stdout.trim().split('\n');
  const at = out.findIndex((l) => /^figure\s/.test(l));
  return { kind: 'external', id: '4', title, command, status: 'ok', detail: at >= 0 ? out.slice(at).join('\n') : tail(r.stdout, 20), json, jsonPath };
}
