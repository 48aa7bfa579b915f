/**
 * The Worker with S3 in place of R2 (REGATE_S3_BUCKET), as users run it: `wrangler dev --local` (the real
 * bundle, with wrangler.toml's alias of @aws-sdk/xml-builder to its non-browser parser) in front of the real S3
 * server of the suite (versitygw, SigV4 checked). A file uploaded through DBFS lands in the bucket and comes
 * back through a signed URI, whole and ranged, with its exact Content-Length.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startS3Server, type S3Server } from '../helpers/s3-server.ts';
import { startWorkerServer, type WorkerServer } from '../helpers/worker-server.ts';
import { equalBytes, pattern } from '../helpers/streams.ts';

const BUCKET = 'regate-worker-s3';
let s3: S3Server;
let w: WorkerServer;

beforeAll(async () => {
  s3 = await startS3Server();
  const client = new S3Client({
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  client.destroy();
  w = await startWorkerServer({ vars: { ...s3.env, REGATE_S3_BUCKET: BUCKET } });
}, 120_000);
afterAll(async () => {
  await w?.stop();
  await s3?.stop();
}, 30_000);

describe('the Worker on S3', () => {
  it('uploads into the bucket and serves signed, ranged downloads from it', async () => {
    const auth = { Authorization: `Bearer ${w.adminToken}` };
    const json = { ...auth, 'Content-Type': 'application/json' };
    const ok = async (r: Response) => {
      const text = await r.text();
      expect(r.status, `${text}\n${w.output().slice(-3000)}`).toBe(200);
      return text ? JSON.parse(text) : {};
    };
    const bytes = pattern(1024 * 1024 + 7, 4);
    const area = '/databricks/mlflow/tmp-external-source/s3w';
    await ok(await fetch(`${w.url}/api/2.0/mlflow/registered-models/create`, { method: 'POST', headers: json, body: JSON.stringify({ name: 's3w' }) }));
    await ok(await fetch(`${w.url}/dbfs${area}/model/weights.bin`, { method: 'POST', headers: auth, body: bytes as Uint8Array<ArrayBuffer> }));
    await ok(await fetch(`${w.url}/api/2.0/mlflow/model-versions/create`, { method: 'POST', headers: json, body: JSON.stringify({ name: 's3w', source: `dbfs:${area}/model` }) }));
    const q = new URLSearchParams({ name: 's3w', version: '1', path: 'weights.bin' });
    const { signed_uri } = await ok(await fetch(`${w.url}/api/2.0/mlflow/model-versions/get-signed-download-uri?${q}`, { headers: auth }));
    const full = await fetch(signed_uri);
    const body = new Uint8Array(await full.arrayBuffer());
    expect(full.status, new TextDecoder().decode(body.slice(0, 500))).toBe(200);
    expect(full.headers.get('content-length')).toBe(String(bytes.length));
    expect(equalBytes(body, bytes)).toBe(true);
    const part = await fetch(signed_uri, { headers: { Range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(equalBytes(new Uint8Array(await part.arrayBuffer()), bytes.slice(10, 20))).toBe(true);
    // The bytes are in the bucket, not in the Worker.
    const client = new S3Client({ region: s3.region, endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'registry/' }));
    client.destroy();
    expect((listed.Contents ?? []).some((o) => o.Key!.endsWith('/weights.bin') && o.Size === bytes.length)).toBe(true);
  }, 60_000);
});
