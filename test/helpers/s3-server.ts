/**
 * @module s3-server
 * Starts moto's S3 server (a real S3-compatible HTTP server, from the pinned venv .venv-s3 that
 * test/s3/setup.sh builds) on a loopback port the kernel picks, and waits for its "Running on" line. The S3
 * adapter's contract runs against it. A missing venv or a server that does not come up fails the test with the
 * reason: never a silent skip, or a broken setup would pass CI green.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const PYTHON = join(ROOT, '.venv-s3', 'bin', 'python');
/** How long moto may take to start (a cold import of boto3/botocore is ~1 s). */
const START_TIMEOUT_MS = 20_000;

export interface S3Server {
  /** e.g. `http://127.0.0.1:40123` */
  endpoint: string;
  proc: ChildProcess;
  /** Kills the server (by its PID) and waits for it to exit. */
  stop(): Promise<void>;
}

export async function startS3Server(): Promise<S3Server> {
  if (!existsSync(PYTHON)) {
    throw new Error(`The S3 contract tests need moto's server: run \`bash test/s3/setup.sh\` (creates .venv-s3/; .ci/run does this). Missing: ${PYTHON}`);
  }
  // -p 0: the kernel picks a free port, and the server prints it, so there is no pick-then-bind race.
  const proc = spawn(PYTHON, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', '0'], {
    env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exitedP = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exitedP;
  };
  try {
    const endpoint = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`moto did not start within ${START_TIMEOUT_MS} ms: ${out}`)), START_TIMEOUT_MS);
      const onData = (d: Buffer) => {
        out += d.toString();
        const m = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          proc.stdout!.off('data', onData);
          proc.stderr!.off('data', onData);
          resolve(m[1]!);
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      proc.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`moto exited (${code}) before listening: ${out}`));
      });
    });
    // Keep draining the request log so a full pipe never blocks the server.
    proc.stdout!.resume();
    proc.stderr!.resume();
    return { endpoint, proc, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
