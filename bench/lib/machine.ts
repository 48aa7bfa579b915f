/**
 * @module machine
 * What a result depends on, for the results file: the machine (CPUs, memory, kernel, CPU model, load at start)
 * and the versions of everything measured (Node, nginx, wrk, curl, hono, @hono/node-server, mlflow, the git commit).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { BENCH, NODE, ROOT } from './paths.ts';
import { runSync } from './procs.ts';

export interface Machine {
  nproc: number;
  memGiB: number;
  kernel: string;
  cpuModel: string;
  loadavg: string;
}

export function machine(): Machine {
  const nproc = Number(runSync('nproc', [], { timeoutMs: 5000 }).stdout.trim()) || cpus().length;
  let cpuModel = cpus()[0]?.model ?? '?';
  try {
    cpuModel = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpuModel;
  } catch {
    // not Linux
  }
  return {
    nproc,
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    cpuModel,
    loadavg: loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  };
}

const first = (s: string) => s.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';

export interface Versions {
  node: string;
  nginx: string;
  wrk: string;
  curl: string;
  hono: string;
  honoNodeServer: string;
  mlflow: string;
  git: string;
}

/** The version a package resolves to from bench/ (node resolution walks up to the root's node_modules). */
export function resolvedVersion(pkg: string): string {
  const require = createRequire(join(BENCH, 'package.json'));
  // The package's own package.json, found next to its resolved entry (exports may hide ./package.json).
  let dir = require.resolve(pkg);
  for (let i = 0; i < 8; i++) {
    dir = join(dir, '..');
    try {
      const j = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (j.name === pkg) return j.version ?? '?';
    } catch {
      // keep walking up
    }
  }
  return '?';
}

export function versions(): Versions {
  const t = { timeoutMs: 10_000 };
  const nginx = runSync('nginx', ['-v'], t);
  const wrk = runSync('wrk', ['-v'], t);
  const git = runSync('git', ['rev-parse', '--short', 'HEAD'], { ...t, cwd: ROOT }).stdout.trim();
  const dirty = runSync('git', ['status', '--porcelain', '--', 'src', 'migrations'], { ...t, cwd: ROOT }).stdout.split('\n').filter(Boolean).length;
  let mlflow = '?';
  try {
    mlflow = `${/^mlflow==(\S+)/m.exec(readFileSync(join(BENCH, 'mlflow', 'requirements.txt'), 'utf8'))?.[1] ?? '?'} (pin in bench/mlflow/requirements.txt)`;
  } catch {
    mlflow = 'bench/mlflow/requirements.txt not found';
  }
  return {
    node: runSync(NODE, ['--version'], t).stdout.trim(),
    nginx: first(nginx.stderr + nginx.stdout).replace(/^nginx version:\s*/, '') || 'not installed',
    wrk: first(wrk.stdout + wrk.stderr).replace(/\s+Copyright.*/, '') || 'not installed',
    curl: first(runSync('curl', ['--version'], t).stdout).split(' ').slice(0, 2).join(' ') || 'not installed',
    hono: resolvedVersion('hono'),
    honoNodeServer: resolvedVersion('@hono/node-server'),
    mlflow,
    git: `${git || '?'}${dirty ? ` + ${dirty} uncommitted file(s) in src/ and migrations/` : ''}`,
  };
}
