/**
 * @module regate-path
 * regate's per-byte download path without the auth part, for bench/s3-relay/ab.sh: an HTTP server whose every
 * request is `S3ObjectStore.get(OBJECT_KEY, { signal, ifMatch })` (the real adapter on `makeS3Client`) handed to
 * `nodeResponder()` (src/runtime/node-body.ts), as src/http/routes/download.ts does after its checks.
 * `node regate-path.mts PORT ENDPOINT BUCKET KEY ETAG`. Env: PLAIN_AGENT=1 builds the SDK client with Node's
 * default keep-alive `http.Agent` (as before reused-read-agent.ts), NOSOCKTO=1 the same without `socketTimeout`
 * (else the client is exactly s3-config.ts's); NODELAY=1 sets TCP_NODELAY on the client socket; CORK=1
 * corks the response and uncorks on setImmediate (batches writes into writev).
 */
import http, { Agent as HttpAgent } from 'node:http';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore } from '../../src/adapters/s3/s3-object-store.ts';
import { makeS3Client, parseS3Config } from '../../src/adapters/s3/s3-config.ts';
import { nodeResponder } from '../../src/runtime/node-body.ts';
import { systemTimers } from '../../src/core/timers.ts';
import { S3_ACCESS_KEY, S3_SECRET_KEY } from '../../test/helpers/s3-server.ts';

const [port, endpoint, bucket, key, etag] = [Number(process.argv[2]), process.argv[3]!, process.argv[4]!, process.argv[5]!, process.argv[6]!];
const cfg = parseS3Config({ REGATE_S3_BUCKET: bucket, REGATE_S3_ENDPOINT: endpoint, AWS_ACCESS_KEY_ID: S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY })!;
const client = process.env.NOSOCKTO || process.env.PLAIN_AGENT
  ? new S3Client({
      region: cfg.region,
      endpoint,
      forcePathStyle: true,
      credentials: cfg.credentials!,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 256 }), connectionTimeout: 5000, requestTimeout: 30000, throwOnRequestTimeout: true, ...(process.env.NOSOCKTO ? {} : { socketTimeout: 30000 }) },
    })
  : makeS3Client(cfg);
const store = new S3ObjectStore({ client, bucket });
const respond = nodeResponder();
http
  .createServer(async (req, res) => {
    if (process.env.CORK) {
      const write = res.write.bind(res);
      let corked = false;
      (res as unknown as { write: (c: Buffer, cb?: () => void) => boolean }).write = (c, cb) => {
        if (!corked) {
          corked = true;
          res.cork();
          setImmediate(() => {
            corked = false;
            res.uncork();
          });
        }
        return write(c, cb);
      };
    }
    if (process.env.NODELAY) res.socket!.setNoDelay(true);
    const ac = new AbortController();
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    const r = await store.get(key, { signal: ac.signal, ifMatch: etag, ...(range ? { range: { start: Number(range[1]), end: Number(range[2]) } } : {}) });
    const expected = r.length;
    respond(
      { status: range ? 206 : 200, headers: { 'content-length': String(expected) }, result: r, expected, idleMs: 30_000, timers: systemTimers, abortUpstream: (e) => ac.abort(e) },
      { outgoing: res },
    );
  })
  .listen(port, '127.0.0.1');
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(0));
