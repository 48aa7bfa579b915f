import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, GetObjectCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
// The SDK's own fetch handler (what it uses in workerd); a dependency of @aws-sdk/client-s3.
import { FetchHttpHandler } from '@smithy/fetch-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeS3Client, parseS3Config, type S3StoreConfig } from '../../src/adapters/s3/s3-config.ts';
import { S3ObjectStore, type S3ObjectStoreOptions } from '../../src/adapters/s3/s3-object-store.ts';
import { ConfigError } from '../../src/core/config.ts';
import { createApp } from '../../src/http/app.ts';
import { createNodeDeps } from '../../src/runtime/node-deps.ts';
import { StorageError } from '../../src/core/storage/object-store.ts';
import { S3_ACCESS_KEY, S3_SECRET_KEY, startS3Server, type S3Server } from '../helpers/s3-server.ts';
import { equalBytes, failingStream, pattern, readAll, streamOf } from '../helpers/streams.ts';
import { runObjectStoreContract } from './object-store.contract.ts';

let server: S3Server;
let client: S3Client;
/** The SDK as it sends in Workers (fetch, web-stream bodies), on Node: the store's Workers path. */
let fetchClient: S3Client;
let buckets = 0;

beforeAll(async () => {
  server = await startS3Server();
  const cfg = config(server.endpoint);
  client = makeS3Client(cfg);
  fetchClient = new S3Client({
    region: cfg.region,
    endpoint: cfg.endpoint!,
    forcePathStyle: true,
    credentials: cfg.credentials!,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new FetchHttpHandler({ requestTimeout: cfg.requestTimeoutMs }),
  });
}, 30_000);

afterAll(async () => {
  client?.destroy();
  fetchClient?.destroy();
  await server?.stop();
});

function config(endpoint: string, extra: Partial<S3StoreConfig> = {}): S3StoreConfig {
  const cfg = parseS3Config({ REGATE_S3_BUCKET: 'unused', REGATE_S3_ENDPOINT: endpoint, AWS_ACCESS_KEY_ID: S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY })!;
  return { ...cfg, ...extra };
}

/** A store over a fresh bucket, so tests do not see each other's objects. */
async function makeS3(opts: Partial<S3ObjectStoreOptions> = {}, via: S3Client = client) {
  const bucket = `regate-test-${process.pid}-${++buckets}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return { bucket, store: new S3ObjectStore({ client: via, bucket, ...opts }) };
}

runObjectStoreContract('S3ObjectStore (versitygw)', () => makeS3());
runObjectStoreContract('S3ObjectStore over fetch, as in Workers (versitygw)', () => makeS3({}, fetchClient));

async function pendingUploads(bucket: string): Promise<number> {
  return (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads?.length ?? 0;
}

const MiB = 1024 * 1024;

describe('the test server checks SigV4 signatures', () => {
  it('refuses requests signed with a wrong secret or a wrong access key, and accepts the right pair', async () => {
    const { bucket, store } = await makeS3();
    await store.put('sig/x', streamOf(pattern(100)));
    for (const credentials of [
      { accessKeyId: S3_ACCESS_KEY, secretAccessKey: `${S3_SECRET_KEY}x` },
      { accessKeyId: 'AKIANOSUCHKEY0000000', secretAccessKey: S3_SECRET_KEY },
    ]) {
      const bad = makeS3Client(config(server.endpoint, { credentials, maxAttempts: 1 }));
      try {
        const err = await bad.send(new GetObjectCommand({ Bucket: bucket, Key: 'sig/x' })).catch((e: unknown) => e);
        // AWS answers an unknown key with 403 InvalidAccessKeyId; versitygw with 404 XAdminUserNotFound.
        const wrongSecret = credentials.accessKeyId === S3_ACCESS_KEY;
        expect(err).toMatchObject({ $metadata: { httpStatusCode: wrongSecret ? 403 : 404 } });
        expect((err as Error).name).toBe(wrongSecret ? 'SignatureDoesNotMatch' : 'XAdminUserNotFound');
        // Through the store, regate's own credentials being refused is a store failure (→ 502), never a
        // 403, nor a 404 that would tell the client its artifact is gone.
        const viaStore = await new S3ObjectStore({ client: bad, bucket }).get('sig/x').catch((e: unknown) => e);
        expect(viaStore).toMatchObject({ kind: 'internal' });
      } finally {
        bad.destroy();
      }
    }
    // An unsigned request is refused too.
    const anon = await fetch(`${server.endpoint}/${bucket}/sig/x`);
    expect(anon.status).toBe(403);
    await anon.body?.cancel();
    expect((await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'sig/x' }))).ContentLength).toBe(100);
  });
});

describe('S3ObjectStore specifics (versitygw)', () => {
  it('a body longer than one part goes up as a multipart upload and reads back whole', async () => {
    const { bucket, store } = await makeS3({ partSize: 5 * MiB });
    const bytes = pattern(12 * MiB + 3, 11);
    // Odd chunk sizes, so parts are cut across chunk boundaries; no contentLength (a chunked upload).
    const meta = await store.put('big/model.bin', streamOf(bytes, 777_777));
    expect(meta.size).toBe(bytes.length);
    expect(meta.etag).toMatch(/^"[0-9a-f]+-3"$/);
    expect(equalBytes(await readAll((await store.get('big/model.bin')).body), bytes)).toBe(true);
    const tail = await store.get('big/model.bin', { range: { start: 10 * MiB, end: 20 * MiB }, ifMatch: meta.etag });
    expect(tail.range).toEqual({ start: 10 * MiB, end: bytes.length - 1 });
    expect(equalBytes(await readAll(tail.body), bytes.slice(10 * MiB))).toBe(true);
    expect(await pendingUploads(bucket)).toBe(0);
  });

  it('a multipart upload that fails mid-way, or has the wrong length, is aborted and leaves nothing', async () => {
    const { bucket, store } = await makeS3({ partSize: 5 * MiB });
    await expect(store.put('f/broken', failingStream(pattern(11 * MiB)))).rejects.toBeInstanceOf(StorageError);
    await expect(store.put('f/long', streamOf(pattern(11 * MiB)), { contentLength: 6 * MiB })).rejects.toMatchObject({ kind: 'invalid' });
    await expect(store.put('f/short', streamOf(pattern(11 * MiB)), { contentLength: 12 * MiB })).rejects.toMatchObject({ kind: 'invalid' });
    expect(await store.head('f/broken')).toBeNull();
    expect(await store.head('f/long')).toBeNull();
    expect(await store.head('f/short')).toBeNull();
    expect(await pendingUploads(bucket)).toBe(0);
  });

  it('an aborted signal stops a multipart upload and aborts it', async () => {
    const { bucket, store } = await makeS3({ partSize: 5 * MiB });
    const ac = new AbortController();
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        sent += MiB;
        // After the first part is on its way, the caller gives up.
        if (sent === 7 * MiB) ac.abort(new Error('client left'));
        c.enqueue(pattern(MiB, sent));
      },
    });
    await expect(store.put('a/aborted', body, { signal: ac.signal })).rejects.toBeInstanceOf(StorageError);
    expect(await store.head('a/aborted')).toBeNull();
    expect(await pendingUploads(bucket)).toBe(0);
  });

  it('copies above the CopyObject threshold part by part (UploadPartCopy)', async () => {
    const { bucket, store } = await makeS3({ partSize: 5 * MiB, copyThreshold: 6 * MiB, copyPartSize: 5 * MiB });
    const bytes = pattern(11 * MiB + 5, 2);
    await store.put('src/large', streamOf(bytes));
    const meta = await store.copy('src/large', 'dst/large');
    expect(meta).toMatchObject({ key: 'dst/large', size: bytes.length });
    expect(meta.etag).toMatch(/-3"$/);
    expect(equalBytes(await readAll((await store.get('dst/large')).body), bytes)).toBe(true);
    expect(await pendingUploads(bucket)).toBe(0);
  });

  it('refuses part sizes below 5 MiB at construction, for uploads and part-wise copies alike (as the R2 store does)', () => {
    expect(() => new S3ObjectStore({ client, bucket: 'any', partSize: MiB })).toThrow(RangeError);
    // UploadPartCopy's parts have the same minimum: found at construction, not at the first large copy.
    expect(() => new S3ObjectStore({ client, bucket: 'any', copyPartSize: MiB })).toThrow(/^copyPartSize must be at least 5242880 bytes\.$/);
  });

  it('a missing bucket is a store failure (→ 502), not a missing artifact (→ 404)', async () => {
    const store = new S3ObjectStore({ client, bucket: `regate-missing-${process.pid}` });
    expect(await store.get('a/b').catch((e: unknown) => e)).toMatchObject({ kind: 'internal' });
    expect(await store.list('a/').catch((e: unknown) => e)).toMatchObject({ kind: 'internal' });
    await expect(store.delete('a/b')).rejects.toMatchObject({ kind: 'internal' });
  });

  it('over fetch (the Workers path) the body is the response\'s web stream, with no Node form', async () => {
    const { store } = await makeS3({}, fetchClient);
    await store.put('w/x', streamOf(pattern(1000)));
    const r = await store.get('w/x', { range: { start: 10, end: 19 } });
    expect(r.nodeStream).toBeUndefined();
    expect(equalBytes(await readAll(r.body), pattern(1000).slice(10, 20))).toBe(true);
  });

  it('hands the response over as a Node stream when asked (no web stream in between)', async () => {
    const { store } = await makeS3();
    await store.put('n/x', streamOf(pattern(1000)));
    const r = await store.get('n/x');
    const s = r.nodeStream!() as NodeJS.ReadableStream;
    const chunks: Buffer[] = [];
    for await (const c of s) chunks.push(c as Buffer);
    expect(equalBytes(new Uint8Array(Buffer.concat(chunks)), pattern(1000))).toBe(true);
    expect(r.nodeStream!()).toBeUndefined();
  });
});

/** A loopback HTTP server that answers every request with `handler` (a stand-in for a misbehaving S3). */
async function fakeS3(handler: Parameters<typeof createServer>[1]): Promise<{ endpoint: string; close: () => Promise<void>; server: Server }> {
  const srv = createServer(handler);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    server: srv,
    close: () => new Promise<void>((resolve) => { srv.closeAllConnections(); srv.close(() => resolve()); }),
  };
}

describe('S3ObjectStore error mapping (real sockets)', () => {
  it('throttling (503 SlowDown) is `unavailable` with the server\'s Retry-After', async () => {
    const fake = await fakeS3((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/xml', 'retry-after': '7' });
      res.end('<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
    });
    const c = makeS3Client(config(fake.endpoint, { maxAttempts: 1 }));
    try {
      const store = new S3ObjectStore({ client: c, bucket: 'b' });
      const err = await store.get('k').catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'unavailable', retryAfter: 7 });
      expect(await store.list('').catch((e: unknown) => e)).toMatchObject({ kind: 'unavailable' });
    } finally {
      c.destroy();
      await fake.close();
    }
  });

  it('a store that stops answering is `timeout`, one that stalls mid-body errors the body; a 403 is `internal`', async () => {
    let mode: 'hang' | 'stall' | 'deny' = 'hang';
    const fake = await fakeS3((_req, res) => {
      if (mode === 'hang') return; // never answers
      if (mode === 'stall') {
        res.writeHead(200, { 'content-length': '100', etag: '"abc"', 'last-modified': new Date(0).toUTCString() });
        res.write('first bytes');
        return;
      }
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>no</Message></Error>');
    });
    const c = makeS3Client(config(fake.endpoint, { maxAttempts: 1, requestTimeoutMs: 200 }));
    try {
      const store = new S3ObjectStore({ client: c, bucket: 'b' });
      expect(await store.get('k').catch((e: unknown) => e)).toMatchObject({ kind: 'timeout' });
      mode = 'stall';
      // Headers and the first bytes, then silence: the open body errors instead of hanging the download.
      const r = await store.get('k');
      await expect(readAll(r.body)).rejects.toMatchObject({ name: 'TimeoutError' });
      mode = 'deny';
      expect(await store.get('k').catch((e: unknown) => e)).toMatchObject({ kind: 'internal' });
    } finally {
      c.destroy();
      await fake.close();
    }
  });
});

describe('parseS3Config', () => {
  it('reads the REGATE_S3_* and AWS_* variables, with path style by default on a custom endpoint', () => {
    expect(parseS3Config({})).toBeNull();
    expect(
      parseS3Config({
        REGATE_S3_BUCKET: 'models',
        REGATE_S3_ENDPOINT: 'http://127.0.0.1:9000',
        REGATE_S3_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'id',
        AWS_SECRET_ACCESS_KEY: 'secret',
      }),
    ).toEqual({
      bucket: 'models',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
      connectTimeoutMs: 5000,
      requestTimeoutMs: 30000,
      maxAttempts: 3,
    });
    const aws = parseS3Config({ REGATE_S3_BUCKET: 'models', REGATE_S3_FORCE_PATH_STYLE: 'true' })!;
    expect(aws).toMatchObject({ region: 'us-east-1', forcePathStyle: true });
    expect(aws.endpoint).toBeUndefined();
    expect(aws.credentials).toBeUndefined();
    expect(parseS3Config({ REGATE_S3_BUCKET: 'models' })!.forcePathStyle).toBe(false);
  });

  it('refuses bad values with the variable\'s name', () => {
    expect(() => parseS3Config({ REGATE_S3_BUCKET: 'Bad_Bucket' })).toThrow(ConfigError);
    expect(() => parseS3Config({ REGATE_S3_BUCKET: 'b1b', REGATE_S3_ENDPOINT: 'localhost:9000' })).toThrow(/REGATE_S3_ENDPOINT/);
    expect(() => parseS3Config({ REGATE_S3_BUCKET: 'b1b', REGATE_S3_FORCE_PATH_STYLE: 'maybe' })).toThrow(/REGATE_S3_FORCE_PATH_STYLE/);
    expect(() => parseS3Config({ REGATE_S3_BUCKET: 'b1b', AWS_ACCESS_KEY_ID: 'id' })).toThrow(/AWS_SECRET_ACCESS_KEY/);
    expect(() => parseS3Config({ REGATE_S3_BUCKET: 'b1b', REGATE_S3_MAX_ATTEMPTS: '0' })).toThrow(/REGATE_S3_MAX_ATTEMPTS/);
  });
});

describe('the Node runtime on S3 (REGATE_S3_BUCKET set)', () => {
  it('stores uploaded artifacts in the bucket instead of the data directory', async () => {
    const { bucket, store } = await makeS3();
    const adminToken = 'dapi-admin-0123456789abcdef';
    const made = await createNodeDeps({
      dataDir: ':memory:',
      env: { REGATE_ADMIN_TOKEN: adminToken, REGATE_S3_BUCKET: bucket, ...server.env },
      logger: { info() {}, warn() {}, error() {} },
    });
    try {
      expect(made.deps.objectStore).toBeInstanceOf(S3ObjectStore);
      const app = createApp(made.deps);
      const res = await app.request('/dbfs/databricks/mlflow/tmp-external-source/w1/model.pkl', {
        method: 'POST',
        body: 'pickled bytes',
        headers: { Authorization: `Bearer ${adminToken}` },
      });
      expect(res.status).toBeLessThan(300);
      const listed = (await store.list('')).objects;
      expect(listed).toHaveLength(1);
      expect(listed[0]!.key).toMatch(/model\.pkl$/);
      expect(new TextDecoder().decode(await readAll((await store.get(listed[0]!.key)).body))).toBe('pickled bytes');
    } finally {
      await made.close();
    }
  });
});
