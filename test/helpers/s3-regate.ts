/**
 * @module s3-regate
 * regate as the Node entry runs it (createNodeDeps with REGATE_S3_BUCKET set, the Node server with its
 * limits, a real socket on port 0) over a fresh bucket of the real S3 server, optionally through the fault
 * proxy. Helpers drive it the way the MLflow client does: DBFS upload → model-versions/create →
 * list-artifacts → get-signed-download-uri → the signed download with node:http (which reports a body cut
 * short, unlike fetch's silent end).
 */
import type { Server } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { createApp } from '../../src/http/app.ts';
import type { DownloadLimits } from '../../src/core/artifacts/download-limits.ts';
import type { Logger } from '../../src/core/ports.ts';
import { createNodeDeps } from '../../src/runtime/node-deps.ts';
import { serveWithLimits } from '../../src/runtime/node-server.ts';
import { parseServerLimits } from '../../src/runtime/server-limits.ts';
import { rawGet } from './raw-get.ts';
import type { S3Server } from './s3-server.ts';

const ADMIN = 'dapi-s3-admin-0123456789abcdef';
const AREA = '/databricks/mlflow/tmp-external-source';
const MV = '/api/2.0/mlflow/model-versions';
let buckets = 0;

/** A client straight to the server (not through any proxy), for setup and for looking behind regate's back. */
export function directClient(server: S3Server): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export interface Fetched {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** 'end' for a complete body; otherwise how it ended ('aborted', 'closed early', an error). */
  outcome: string;
}

/** GET with node:http on a fresh connection (raw-get.ts), the body buffered; `onData` may destroy the request (a client going away). */
export async function fetchRaw(url: string, headers: Record<string, string> = {}, onData?: (got: number, destroy: () => void) => void): Promise<Fetched> {
  const chunks: Buffer[] = [];
  let got = 0;
  const { res, outcome } = await rawGet(url, headers, (c, _res, req, stop) => {
    chunks.push(c);
    got += c.length;
    onData?.(got, () => {
      req.destroy();
      stop('client closed');
    });
  });
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), outcome };
}

export interface S3Regate {
  url: string;
  bucket: string;
  /** The S3 client regate does not use: straight to the server. */
  s3: S3Client;
  logLines: Array<{ level: string; event: string; fields: Record<string, unknown> }>;
  call(method: string, path: string, o?: { body?: unknown; rawBody?: string | Uint8Array; query?: Record<string, string> }): Promise<{ status: number; json: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Uploads `files` through DBFS and registers them as a new version of `model` (created if needed). */
  register(model: string, files: Record<string, string | Uint8Array>): Promise<string>;
  signedUri(model: string, version: string, path: string): Promise<string>;
  close(): Promise<void>;
}

export async function startS3Regate(
  server: S3Server,
  opts: { endpoint?: string; env?: Record<string, string>; download?: DownloadLimits } = {},
): Promise<S3Regate> {
  const bucket = `regate-http-${process.pid}-${++buckets}`;
  const s3 = directClient(server);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const logLines: S3Regate['logLines'] = [];
  const logger: Logger = {
    info: (event, fields = {}) => logLines.push({ level: 'info', event, fields }),
    warn: (event, fields = {}) => logLines.push({ level: 'warn', event, fields }),
    error: (event, fields = {}) => logLines.push({ level: 'error', event, fields }),
  };
  const made = await createNodeDeps({
    dataDir: ':memory:',
    env: { REGATE_ADMIN_TOKEN: ADMIN, REGATE_S3_BUCKET: bucket, ...server.env, ...(opts.endpoint ? { REGATE_S3_ENDPOINT: opts.endpoint } : {}), ...opts.env },
    logger,
    ...(opts.download ? { download: opts.download } : {}),
  });
  const app = createApp(made.deps);
  const http: Server = serveWithLimits({ fetch: app.fetch, port: 0, hostname: '127.0.0.1', limits: parseServerLimits({}, 20_000), logger });
  await new Promise<void>((r) => (http.listening ? r() : http.once('listening', () => r())));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const models = new Set<string>();
  let uploads = 0;

  const call: S3Regate['call'] = async (method, path, o = {}) => {
    const u = new URL(path, url);
    for (const [k, v] of Object.entries(o.query ?? {})) u.searchParams.set(k, v);
    const headers: Record<string, string> = { Authorization: `Bearer ${ADMIN}` };
    let body: string | Uint8Array | undefined = o.rawBody;
    if (body === undefined && o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['Content-Type'] = 'application/json';
    }
    const res = await fetch(u, { method, headers, ...(body !== undefined ? { body: body as BodyInit } : {}) });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = text;
    }
    return { status: res.status, json };
  };

  const ok = async (...a: Parameters<S3Regate['call']>) => {
    const r = await call(...a);
    if (r.status !== 200) throw new Error(`${a[0]} ${a[1]} → ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  };

  return {
    url,
    bucket,
    s3,
    logLines,
    call,
    async register(model, files) {
      if (!models.has(model)) {
        await ok('POST', '/api/2.0/mlflow/registered-models/create', { body: { name: model } });
        models.add(model);
      }
      const run = `run${++uploads}`;
      for (const [rel, body] of Object.entries(files)) await ok('POST', `/dbfs${AREA}/${run}/model/${rel}`, { rawBody: body });
      const created = await ok('POST', `${MV}/create`, { body: { name: model, source: `dbfs:${AREA}/${run}/model` } });
      return String(created.model_version.version);
    },
    async signedUri(model, version, path) {
      return (await ok('GET', `${MV}/get-signed-download-uri`, { query: { name: model, version, path } })).signed_uri as string;
    },
    async close() {
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
      await made.close();
      s3.destroy();
    },
  };
}
