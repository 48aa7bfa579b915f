/**
 * @module node-s3
 * Figure 8: a 1 GiB download through regate on Node from its S3 store, against a direct GET of the same object
 * from the same S3 server. The server is versitygw v1.8.0 (posix backend, keep-alive, SigV4 checked; built by
 * test/s3/setup.sh), on loopback; regate is `node src/runtime/node.ts` with REGATE_S3_BUCKET pointing at it.
 *
 * regate is set up over its HTTP API only: a creator uploads `model/data/weights.bin` (1 GiB of random bytes;
 * smoke 16 MiB) by raw DBFS POST, registers it (model-versions/create copies it into managed storage in the
 * bucket), grants a reader CAN_READ; the reader's signed URI is what is downloaded. The peer is curl's own
 * SigV4-signed GET of the managed copy's key (from the version's artifact_uri), so both sides read the very
 * same object with the same client.
 *
 * Before timing, each side's download is checked: status 200, `Content-Length` exactly the size (not chunked),
 * SHA-256 equal to the uploaded bytes'. Then rounds of one curl download per side (order alternating, body to
 * /dev/null), while regate's RSS is sampled (/proc) to show memory does not grow with the file.
 * Goal: regate's throughput ≥ 0.9 × the direct GET's (median of the per-round ratios).
 *
 * A third side shows what any Node process in the path costs here: the same signed curl GET through a bare
 * Node HTTP pipe (test/helpers/s3-fault-proxy.ts with no faults: `http.request` piped into the response,
 * keep-alive), so regate's ratio can be read against the ceiling of a Node hop on this machine.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../lib/paths.ts';
import { runAsync, spawnLogged, waitForHttp, type Child } from '../lib/procs.ts';
import { publishFile } from '../lib/publish-file.ts';
import { startRegate } from '../lib/regate.ts';
import { checkDownloads, curlTimed, median, randomFile, type TimedRun } from '../lib/curl-download.ts';
import type { RunContext } from '../lib/context.ts';
import type { Figure } from '../lib/results.ts';
import { freePort, S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, VERSITYGW_BIN, VERSITYGW_VERSION } from '../../test/helpers/s3-server.ts';
import { startFaultProxy, type FaultProxy } from '../../test/helpers/s3-fault-proxy.ts';

const MODEL = 'bench-node-s3';
const FILE = 'data/weights.bin';
const BUCKET = 'regate-bench';
const MiB = 1024 * 1024;
const MB = 1e6;
/** curl signing its requests for the S3 server (curl 7.88 does not send x-amz-content-sha256 itself). */
const SIGV4 = ['--aws-sigv4', `aws:amz:${S3_REGION}:s3`, '--user', `${S3_ACCESS_KEY}:${S3_SECRET_KEY}`, '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD'];

/** versitygw on a free loopback port over `dataDir`; resolves once it answers HTTP. */
async function startVersitygw(dataDir: string, logPath: string): Promise<{ child: Child; endpoint: string; args: string[] }> {
  const port = await freePort();
  const args = ['--access', S3_ACCESS_KEY, '--secret', S3_SECRET_KEY, '--region', S3_REGION, '--port', `127.0.0.1:${port}`, '--keep-alive', '--quiet', 'posix', dataDir];
  const child = spawnLogged({ name: 'versitygw', cmd: VERSITYGW_BIN, args, cwd: dataDir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dataDir }, logPath });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitForHttp(child, endpoint, 20_000, 50, ' (built? bash test/s3/setup.sh)');
  return { child, endpoint, args };
}

export async function nodeS3Figure(ctx: RunContext): Promise<Figure> {
  const size = ctx.smoke ? 16 * MiB : 1024 * MiB;
  const title = `${size / MiB} MiB download through regate (Node, S3 store) vs a direct SigV4 GET of the same object from the S3 server (versitygw ${VERSITYGW_VERSION}, loopback)`;
  const base = join(ctx.workDir, 'node-s3');
  const s3Dir = join(base, 's3');
  mkdirSync(s3Dir, { recursive: true });
  const children: Child[] = [];
  let pipe: FaultProxy | undefined;
  try {
    const blob = join(base, 'weights.bin');
    ctx.log(`figure 8: writing ${size / MiB} MiB of random bytes`);
    const sha256 = await randomFile(blob, size);

    ctx.log(`figure 8: starting versitygw ${VERSITYGW_VERSION}`);
    const s3 = await startVersitygw(s3Dir, join(base, 'versitygw.log'));
    children.push(s3.child);
    const mk = await runAsync('curl', ['-sS', ...SIGV4, '-X', 'PUT', '-o', '/dev/null', '-w', '%{http_code}', `${s3.endpoint}/${BUCKET}`], { timeoutMs: 30_000 });
    if (mk.stdout.trim() !== '200') throw new Error(`creating bucket ${BUCKET} answered ${mk.stdout} ${mk.stderr}`);

    const s3Env = { REGATE_S3_BUCKET: BUCKET, REGATE_S3_ENDPOINT: s3.endpoint, REGATE_S3_REGION: S3_REGION, AWS_ACCESS_KEY_ID: S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY };
    const regate = await startRegate(join(base, 'regate'), 'S3 store', s3Env);
    children.push(regate.child);
    const { signedUrl: regateUrl, key } = await publishFile(regate, { model: MODEL, file: FILE, blob, log: (m) => ctx.log(`figure 8: ${m}`) });
    const objectPath = `/${BUCKET}/${key.split('/').map(encodeURIComponent).join('/')}`;
    const directUrl = `${s3.endpoint}${objectPath}`;
    pipe = await startFaultProxy(s3.endpoint);

    // Correctness before any timing: exact length, no chunking, the uploaded bytes, on both sides.
    const sides = { regate: { url: regateUrl, args: [] as string[] }, direct: { url: directUrl, args: SIGV4 }, 'node-pipe': { url: `${pipe.endpoint}${objectPath}`, args: SIGV4 } };
    const checks = await checkDownloads(
      Object.entries(sides).map(([name, side]) => ({ name, ...side, tail: () => regate.child.tail() })),
      size,
      sha256,
    );

    const runs: Record<keyof typeof sides, TimedRun[]> = { regate: [], direct: [], 'node-pipe': [] };
    for (let round = 0; round < ctx.rounds; round++) {
      const order = round % 2 === 0 ? (['regate', 'direct', 'node-pipe'] as const) : (['node-pipe', 'direct', 'regate'] as const);
      for (const side of order) {
        ctx.log(`figure 8: round ${round + 1}/${ctx.rounds}, ${side}`);
        // regate's RSS on both sides: on the direct side it shows what an idle regate holds meanwhile.
        runs[side].push(await curlTimed(sides[side].url, size, regate.child.pid, sides[side].args));
      }
    }
    const ratios = runs.regate.map((r, i) => r.mbPerS / runs.direct[i]!.mbPerS);
    const ratio = median(ratios);
    const pipeRatios = runs['node-pipe'].map((r, i) => r.mbPerS / runs.direct[i]!.mbPerS);
    const vsPipe = runs.regate.map((r, i) => r.mbPerS / runs['node-pipe'][i]!.mbPerS);
    const growth = Math.max(...runs.regate.map((r) => r.rssPeakMB - r.rssBeforeMB));
    const fmt = (rs: TimedRun[]) => rs.map((r) => `${r.mbPerS.toFixed(0)} MB/s (${r.seconds.toFixed(2)} s)`).join('; ');
    const goal = (met: boolean) => (ctx.smoke ? 'not judged (smoke)' : met ? 'met' : 'missed');
    const command = `${VERSITYGW_BIN.replace(process.env.HOME ?? '~', '~')} ${s3.args.join(' ')}  |  ${regate.command}  |  curl -o /dev/null <signed URI>  vs  curl --aws-sigv4 aws:amz:${S3_REGION}:s3 --user <key>:<secret> -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -o /dev/null ${s3.endpoint}/${BUCKET}/<key>`;
    const detail = [
      `object: ${size} random bytes, uploaded through regate (multipart into S3) and registered; S3 key ${key}`,
      ...checks,
      `regate (signed URI, reader with CAN_READ): ${fmt(runs.regate)}`,
      `direct (curl SigV4 GET from versitygw): ${fmt(runs.direct)}`,
      `bare Node HTTP pipe in front of versitygw (curl SigV4 through it): ${fmt(runs['node-pipe'])}`,
      `regate ÷ direct throughput per round: ${ratios.map((r) => r.toFixed(3)).join(', ')}; median ${ratio.toFixed(3)}`,
      `bare Node pipe ÷ direct: ${pipeRatios.map((r) => r.toFixed(3)).join(', ')}; median ${median(pipeRatios).toFixed(3)}  |  regate ÷ bare Node pipe: ${vsPipe.map((r) => r.toFixed(3)).join(', ')}; median ${median(vsPipe).toFixed(3)}`,
      `regate RSS during its downloads: ${runs.regate.map((r) => `${r.rssBeforeMB.toFixed(0)} → peak ${r.rssPeakMB.toFixed(0)} MB`).join('; ')} (growth ≤ ${growth.toFixed(0)} MB for a ${(size / MB).toFixed(0)} MB body)`,
      `goal ratio ≥ 0.9: ${goal(ratio >= 0.9)} (${ratio.toFixed(3)}); memory flat (growth < 64 MB): ${goal(growth < 64)}`,
    ];
    return {
      kind: 'external',
      id: '8',
      title,
      command: command.replace(ROOT + '/', ''),
      status: 'ok',
      detail: detail.join('\n'),
      json: {
        bytes: size,
        sha256,
        rounds: ctx.rounds,
        regateMBps: runs.regate.map((r) => Number(r.mbPerS.toFixed(1))),
        directMBps: runs.direct.map((r) => Number(r.mbPerS.toFixed(1))),
        nodePipeMBps: runs['node-pipe'].map((r) => Number(r.mbPerS.toFixed(1))),
        nodePipeMedianRatio: Number(median(pipeRatios).toFixed(3)),
        regateOverNodePipeMedian: Number(median(vsPipe).toFixed(3)),
        ratios: ratios.map((r) => Number(r.toFixed(3))),
        medianRatio: Number(ratio.toFixed(3)),
        regateRssGrowthMB: Math.round(growth),
      },
    };
  } catch (e) {
    return { kind: 'failed', id: '8', title, error: `${String(e instanceof Error ? e.stack ?? e.message : e)}\n${children.map((c) => `--- ${c.name}\n${c.tail()}`).join('\n')}` };
  } finally {
    await pipe?.close();
    for (const c of children.reverse()) await c.stop();
  }
}
