/**
 * @module s3-server
 * Starts versitygw v1.8.0 (a real S3 server that checks SigV4 signatures; built once by test/s3/setup.sh) on
 * loopback with its posix backend in a fresh temp directory, keep-alive on and a fixed access key and secret,
 * and waits until it answers HTTP. The S3 adapter's contract, the artifact HTTP tests on S3 and the S3 fault
 * tests run against it; each test file starts its own server and stops it in afterAll, so nothing outlives the
 * run. A missing binary or a server that does not come up fails the test with the reason: never a silent
 * skip, or a broken setup would pass CI green.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export const VERSITYGW_VERSION = 'v1.8.0';
/** Where test/s3/setup.sh puts the binary (same rule as the script). */
export const VERSITYGW_BIN =
  process.env.REGATE_VERSITYGW_BIN ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'regate', `versitygw-${VERSITYGW_VERSION}`, 'versitygw');

/** The root account the server is started with; every request must be signed with this pair. */
export const S3_ACCESS_KEY = 'REGATETESTACCESSKEY1';
export const S3_SECRET_KEY = 'regate-test-secret-0123456789abcdefghij';
export const S3_REGION = 'us-east-1';

/** How long the server may take to answer its first request (it starts in ~50 ms). */
const START_TIMEOUT_MS = 10_000;

export interface S3Server {
  /** e.g. `http://127.0.0.1:40123` */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  proc: ChildProcess;
  /** The posix backend's root: one directory per bucket. */
  dataDir: string;
  /** The variables that point regate's S3 store at this server (bucket excluded). */
  env: Record<string, string>;
  /** Kills the server (by its PID), waits for it to exit and removes its data. */
  stop(): Promise<void>;
}

/** A port the kernel considers free now (versitygw cannot report the port it bound, so it cannot take 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once `endpoint` answers any HTTP request (unsigned: 403), rejects on `failed`. */
async function answering(endpoint: string, failed: Promise<never>): Promise<void> {
  const deadline = performance.now() + START_TIMEOUT_MS;
  for (;;) {
    const ok = await Promise.race([
      new Promise<boolean>((resolve) => {
        const req = request(`${endpoint}/`, { agent: false }, (res) => {
          res.resume();
          resolve(true);
        });
        req.on('error', () => resolve(false));
        req.end();
      }),
      failed,
    ]);
    if (ok) return;
    if (performance.now() > deadline) throw new Error(`versitygw did not answer on ${endpoint} within ${START_TIMEOUT_MS} ms`);
    // Polling a socket the child has not bound yet: there is no event to wait on.
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function startOnce(dataDir: string): Promise<S3Server> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const proc = spawn(
    VERSITYGW_BIN,
    ['--access', S3_ACCESS_KEY, '--secret', S3_SECRET_KEY, '--region', S3_REGION, '--port', `127.0.0.1:${port}`, '--keep-alive', '--quiet', 'posix', dataDir],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dataDir } },
  );
  let out = '';
  const onData = (d: Buffer) => void (out = (out + d.toString()).slice(-4000));
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exitedP = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  const failed = new Promise<never>((_, reject) => {
    proc.once('error', reject);
    void exitedP.then(() => reject(new Error(`versitygw exited (${proc.exitCode ?? proc.signalCode}) before answering: ${out}`)));
  });
  failed.catch(() => {});
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exitedP;
  };
  try {
    await answering(endpoint, failed);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    endpoint,
    accessKeyId: S3_ACCESS_KEY,
    secretAccessKey: S3_SECRET_KEY,
    region: S3_REGION,
    proc,
    dataDir,
    env: { REGATE_S3_ENDPOINT: endpoint, REGATE_S3_REGION: S3_REGION, AWS_ACCESS_KEY_ID: S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY },
    stop: async () => {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function startS3Server(): Promise<S3Server> {
  if (!existsSync(VERSITYGW_BIN)) {
    throw new Error(`The S3 tests need versitygw ${VERSITYGW_VERSION}: run \`bash test/s3/setup.sh\` (.ci/run does this). Missing: ${VERSITYGW_BIN}`);
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'regate-s3-'));
  // The port is picked before the server binds it: another process may take it in between, so try again.
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(dataDir);
    } catch (err) {
      last = err;
    }
  }
  await rm(dataDir, { recursive: true, force: true });
  throw last;
}

