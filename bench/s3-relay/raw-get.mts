/**
 * @module raw-get
 * The same object read as regate-path.mts without the SDK command: a GET signed with @smithy/signature-v4 (the
 * SDK's own signer; a transitive dependency, imported by path), sent with `node:http` (keep-alive agent) or
 * undici's `Pool` (a transitive dependency too), its body handed to `pipeGuarded` or plainly `.pipe(res)`.
 * `node raw-get.mts PORT UPSTREAM_PORT BUCKET KEY ETAG MODE`, MODE: http | http-pipe | undici | undici-pipe.
 */
import http from 'node:http';
import { createHash, createHmac, type Hash as NodeHash, type Hmac } from 'node:crypto';
import type { Readable } from 'node:stream';
// @ts-expect-error -- transitive dependency, imported by path (no types resolved this way)
import { SignatureV4 } from '../../node_modules/@smithy/signature-v4/dist-cjs/index.js';
import { pipeGuarded } from '../../src/runtime/node-body.ts';
import { systemTimers } from '../../src/core/timers.ts';
import { S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY } from '../../test/helpers/s3-server.ts';
import type { GetResult } from '../../src/core/storage/object-store.ts';

const [port, upPort, bucket, key, etag, mode] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]!, process.argv[5]!, process.argv[6]!, process.argv[7]!];
const path = `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
/** The Checksum the signer wants, on node:crypto. */
class Sha256 {
  readonly #h: NodeHash | Hmac;
  constructor(secret?: string | Uint8Array) {
    this.#h = secret ? createHmac('sha256', typeof secret === 'string' ? Buffer.from(secret) : secret) : createHash('sha256');
  }
  update(d: string | Uint8Array): void {
    this.#h.update(typeof d === 'string' ? Buffer.from(d) : d);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#h.digest());
  }
}
const signer = new SignatureV4({ service: 's3', region: S3_REGION, sha256: Sha256, credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY } });
const agent = new http.Agent({ keepAlive: true });
const undici = mode.startsWith('undici') ? await import('../../node_modules/undici/index.js' as string) : null;
const pool = undici ? new undici.Pool(`http://127.0.0.1:${upPort}`) : null;

http
  .createServer(async (_req, res) => {
    const ac = new AbortController();
    const signed = await signer.sign({ method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port: upPort, path, query: {}, headers: { host: `127.0.0.1:${upPort}`, 'if-match': etag, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    const reply = (body: Readable, len: number) => {
      if (mode.endsWith('pipe')) {
        res.writeHead(200, { 'content-length': String(len) });
        body.pipe(res);
        return;
      }
      pipeGuarded(body, res, { status: 200, headers: { 'content-length': String(len) }, result: null as unknown as GetResult, expected: len, idleMs: 30_000, timers: systemTimers, abortUpstream: (e) => ac.abort(e) });
    };
    if (pool) {
      const r = await pool.request({ path, method: 'GET', headers: signed.headers, signal: ac.signal, highWaterMark: 1 << 20 });
      reply(r.body, Number(r.headers['content-length']));
    } else {
      http.request({ host: '127.0.0.1', port: upPort, path, headers: signed.headers, agent, signal: ac.signal }, (ans) => reply(ans, Number(ans.headers['content-length']))).end();
    }
  })
  .listen(port, '127.0.0.1');
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(0));
