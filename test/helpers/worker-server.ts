/**
 * @module worker-server (test helper)
 * Starts regate's Worker as a user runs it locally, `wrangler dev --local` (workerd with local D1 and R2, the
 * bindings of wrangler.toml), on a free loopback port with fresh state (a new temp `--persist-to` directory,
 * deleted by `stop()`), and the two secrets given as vars: a random REGATE_KEY_ENCRYPTION_KEY and the first
 * admin's token. Resolves once the Worker answers an authenticated request (its first request runs the
 * migrations and makes the admin).
 *
 * Usage (from a Node test, e.g. a pages or compat test that needs the Worker over a real socket):
 *
 *   import { startWorkerServer } from '../helpers/worker-server.ts';
 *   const w = await startWorkerServer();               // or startWorkerServer({ vars: { REGATE_MODEL_CREATORS: 'admins' } })
 *   try {
 *     const r = await fetch(`${w.url}/api/2.0/preview/scim/v2/Me`, { headers: { Authorization: `Bearer ${w.adminToken}` } });
 *   } finally {
 *     await w.stop();                                  // kills wrangler and workerd, removes the state directory
 *   }
 *
 * From a shell (the compat suite): `node test/helpers/worker-server.ts` prints `REGATE_URL=…` and
 * `REGATE_ADMIN_TOKEN=…` lines and keeps running until SIGINT/SIGTERM; its own REGATE_* variables become the
 * Worker's vars. `npm run test:compat -- -p compat_worker_plugin` with `PYTHONPATH=test/workerd` runs the
 * real-client suite against it (test/workerd/compat_worker_plugin.py).
 *
 * Startup takes a few seconds (wrangler bundles, then starts workerd); allow 60 s in a test's timeout.
 * `wrangler dev` also reads a developer's `.dev.vars`; the vars given here are passed with `--var` and win.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface WorkerServer {
  /** `http://127.0.0.1:<port>`, the Worker's origin (loopback, so signed URIs are minted for it). */
  url: string;
  /** The first admin's token (REGATE_ADMIN_TOKEN). */
  adminToken: string;
  /** Everything wrangler printed so far (for failure messages). */
  output(): string;
  /** Stops wrangler and its workerd, and deletes the state directory. Idempotent. */
  stop(): Promise<void>;
}

export interface WorkerServerOptions {
  /** Extra vars (`--var NAME:value`), e.g. REGATE_PUBLIC_ORIGINS. */
  vars?: Record<string, string>;
  /** Milliseconds to wait for the Worker to answer; default 90 s. */
  timeoutMs?: number;
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function exited(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => (proc.exitCode !== null || proc.signalCode !== null ? resolve() : proc.once('exit', () => resolve())));
}

/** @example const w = await startWorkerServer(); … await w.stop(); */
export async function startWorkerServer(opts: WorkerServerOptions = {}): Promise<WorkerServer> {
  const state = await mkdtemp(join(tmpdir(), 'regate-worker-'));
  const port = await freePort();
  const inspector = await freePort();
  const adminToken = `dapi${randomBytes(16).toString('hex')}`;
  const vars: Record<string, string> = {
    REGATE_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    REGATE_ADMIN_TOKEN: adminToken,
    ...opts.vars,
  };
  const args = [
    'dev',
    '--local',
    '--ip', '127.0.0.1',
    '--port', String(port),
    '--inspector-port', String(inspector),
    '--persist-to', state,
    '--show-interactive-dev-session=false',
    '--log-level', 'info',
    ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
  ];
  // Its own process group, so stop() ends wrangler and the workerd it started together.
  // wrangler's script on this Node (24), whatever `node` the PATH holds (wrangler refuses Node < 22).
  const proc = spawn(process.execPath, [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) {
      try {
        process.kill(-proc.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const killLater = setTimeout(() => {
        try {
          process.kill(-proc.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 5000);
      await exited(proc);
      clearTimeout(killLater);
    }
    await rm(state, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  try {
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`wrangler dev exited with ${proc.exitCode}:\n${out}`);
      if (Date.now() > deadline) throw new Error(`wrangler dev did not answer within ${opts.timeoutMs ?? 90_000} ms:\n${out}`);
      try {
        const r = await fetch(`${url}/api/2.0/preview/scim/v2/Me`, { headers: { Authorization: `Bearer ${adminToken}` } });
        const text = await r.text();
        if (r.status === 200) break;
        if (r.status !== 503 || !text.includes('could not start')) throw new Error(`the Worker answered ${r.status}: ${text}\n${out}`);
      } catch (e) {
        if (e instanceof Error && /answered/.test(e.message)) throw e;
      }
      // Not listening yet: wrangler is still bundling or starting workerd (polling a socket; nothing to inject).
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, adminToken, output: () => out, stop };
}

// `node test/helpers/worker-server.ts`: run one for a shell script (the compat suite), until signalled.
// Settings come from this process's REGATE_* variables (the secrets excepted: fresh ones are made).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const vars = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => e[0].startsWith('REGATE_') && e[1] !== undefined && e[0] !== 'REGATE_ADMIN_TOKEN' && e[0] !== 'REGATE_KEY_ENCRYPTION_KEY',
    ),
  );
  const w = await startWorkerServer({ vars });
  process.stdout.write(`REGATE_URL=${w.url}\nREGATE_ADMIN_TOKEN=${w.adminToken}\n`);
  const end = () => void w.stop().finally(() => process.exit(0));
  process.on('SIGINT', end);
  process.on('SIGTERM', end);
}
