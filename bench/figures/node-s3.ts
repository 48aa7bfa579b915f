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
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ok } from '../lib/http.ts';
import { ROOT } from '../lib/paths.ts';
import { runAsync, spawnLogged, type Child } from '../lib/procs.ts';
import { createModel, grant, makeUser, modelId, MV, startRegate, UPLOAD_AREA } from '../lib/regate.ts';
import { curlCheck, curlTimed, median, randomFile, type TimedRun } from '../lib/curl-download.ts';
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
  let gone = false;
  void child.exited.then(() => (gone = true));
  for (const deadline = Date.now() + 20_000; ; ) {
    try {
      await fetch(endpoint, { signal: AbortSignal.timeout(2000) }).then((r) => r.arrayBuffer());
      return { child, endpoint, args };
    } catch {
      if (gone || Date.now() > deadline) {
        await child.stop();
        throw new Error(`versitygw ${gone ? 'exited' : 'did not answer within 20 s'} (built? bash test/s3/setup.sh):\n${child.tail()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
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
    const creator = await makeUser(regate, 'creator@bench.example');
    const reader = await makeUser(regate, 'reader@bench.example');
    await createModel(regate, creator.token, MODEL);
    const uploadId = randomBytes(8).toString('hex');
    await ok(regate.url, 'POST', `/dbfs${UPLOAD_AREA}/${uploadId}/model/MLmodel`, { token: creator.token, raw: 'artifact_path: model\nflavors: {}\n' });
    ctx.log(`figure 8: uploading ${size / MiB} MiB through regate into S3`);
    const up = await runAsync(
      'curl',
      ['-sS', '-X', 'POST', '-T', blob, '-H', `Authorization: Bearer ${creator.token}`, '-o', '/dev/null', '-w', '%{http_code}', `${regate.url}/dbfs${UPLOAD_AREA}/${uploadId}/model/${FILE}`],
      { timeoutMs: 15 * 60_000 },
    );
    if (up.stdout.trim() !== '200') throw new Error(`upload answered ${up.stdout.trim() || up.stderr}:\n${regate.child.tail()}`);
    ctx.log('figure 8: registering (model-versions/create copies the file within the bucket)');
    const created = await ok(regate.url, 'POST', `${MV}/create`, { token: creator.token, json: { name: MODEL, source: `dbfs:${UPLOAD_AREA}/${uploadId}/model` }, timeoutMs: 15 * 60_000 });
    const mv = created.json?.model_version;
    if (mv?.status !== 'READY') throw new Error(`model-versions/create answered ${created.text.slice(0, 300)}`);
    const version = String(mv.version);
    await grant(regate, creator.token, await modelId(regate, creator.token, MODEL), reader.name, 'CAN_READ');
    const signed = await ok(regate.url, 'GET', `${MV}/get-signed-download-uri`, { token: reader.token, query: { name: MODEL, version, path: FILE } });
    const regateUrl = new URL(String(signed.json.signed_uri), regate.url).toString();
    const got = await ok(regate.url, 'GET', `${MV}/get-download-uri`, { token: creator.token, query: { name: MODEL, version } });
    const loc = /^dbfs:\/databricks\/mlflow-registry\/([^/]+)\/models\/(.+)$/.exec(String(got.json?.artifact_uri ?? ''));
    if (!loc) throw new Error(`no artifact_uri in model-versions/get-download-uri: ${got.text.slice(0, 300)}`);
    const key = `registry/${loc[1]}/models/${loc[2]}/${FILE}`;
    const objectPath = `/${BUCKET}/${key.split('/').map(encodeURIComponent).join('/')}`;
    const directUrl = `${s3.endpoint}${objectPath}`;
    pipe = await startFaultProxy(s3.endpoint);

    // Correctness before any timing: exact length, no chunking, the uploaded bytes, on both sides.
    const sides = { regate: { url: regateUrl, args: [] as string[] }, direct: { url: directUrl, args: SIGV4 }, 'node-pipe': { url: `${pipe.endpoint}${objectPath}`, args: SIGV4 } };
    const checks: string[] = [];
    for (const [name, side] of Object.entries(sides)) {
      const c = await curlCheck(side.url, side.args);
      const fine = c.status === 200 && c.contentLength === String(size) && !c.chunked && c.bytes === size && c.sha256 === sha256;
      if (!fine) throw new Error(`${name} download check failed: ${JSON.stringify(c)} (expected ${size} bytes, sha256 ${sha256})\n${regate.child.tail()}`);
      checks.push(`${name}: 200, Content-Length ${c.contentLength} (not chunked), SHA-256 ${c.sha256.slice(0, 16)}… = the uploaded file's`);
    }

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
