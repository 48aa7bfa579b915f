/**
 * The artifact flow on the S3 store, against the real signature-checking S3 server (versitygw) and over real
 * sockets: DBFS upload → model-versions/create (copied into managed storage) → list-artifacts →
 * get-signed-download-uri → the signed download, whole and ranged (SHA-256 of every byte), conditional
 * requests, and 412 once the object was replaced behind a signed URI (T14).
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { useS3Server } from '../helpers/s3-use-server.ts';
import { fetchRaw, startS3Regate, type S3Regate } from '../helpers/s3-regate.ts';
import { pattern } from '../helpers/streams.ts';

const MiB = 1024 * 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const s3 = useS3Server();
let r: S3Regate | undefined;

afterEach(async () => {
  await r?.close();
  r = undefined;
});

/** The single managed key of `rel` in the bucket (registration copies files under models/…). */
async function managedKey(reg: S3Regate, rel: string): Promise<string> {
  const all = (await reg.s3.send(new ListObjectsV2Command({ Bucket: reg.bucket }))).Contents ?? [];
  const keys = all.map((o) => o.Key!).filter((k) => k.startsWith('registry/') && k.endsWith(`/${rel}`));
  expect(keys, JSON.stringify(all.map((o) => o.Key))).toHaveLength(1);
  return keys[0]!;
}

describe('register → list → sign → download on S3', () => {
  it('serves every file whole and ranged with exact bytes, sizes and S3\'s ETags', async () => {
    r = await startS3Regate(s3());
    // 9 MiB + 7: more than one 8 MiB part, so the upload is multipart and the copy keeps its bytes.
    const big = pattern(9 * MiB + 7, 5);
    const files = { MLmodel: 'flavors:\n  python_function: {}\n', 'data/weights.bin': big, empty: '' };
    const version = await r.register('m', files);
    expect(version).toBe('1');

    const root = await r.call('GET', '/api/2.0/mlflow/model-versions/list-artifacts', { query: { name: 'm', version, path: '' } });
    expect(root.status).toBe(200);
    expect(root.json.files).toMatchObject([
      { path: 'data', is_dir: true },
      { path: 'MLmodel', is_dir: false, file_size: files.MLmodel.length },
      { path: 'empty', is_dir: false, file_size: 0 },
    ]);
    const data = await r.call('GET', '/api/2.0/mlflow/model-versions/list-artifacts', { query: { name: 'm', version, path: 'data' } });
    expect(data.json.files).toMatchObject([{ path: 'data/weights.bin', is_dir: false, file_size: big.length }]);

    // The bytes are in the bucket, where the signed download reads them.
    const key = await managedKey(r, 'data/weights.bin');
    const stored = await r.s3.send(new GetObjectCommand({ Bucket: r.bucket, Key: key }));
    expect(stored.ContentLength).toBe(big.length);
    const etag = stored.ETag!;
    await stored.Body!.transformToByteArray();

    const uri = await r.signedUri('m', version, 'data/weights.bin');
    expect(uri.startsWith(r.url)).toBe(true);
    const whole = await fetchRaw(uri);
    expect(whole).toMatchObject({ status: 200, outcome: 'end' });
    expect(whole.headers['content-length']).toBe(String(big.length));
    expect(whole.headers.etag).toBe(etag);
    expect(sha(whole.body)).toBe(sha(big));

    for (const [range, start, end] of [
      ['bytes=0-0', 0, 0],
      [`bytes=${8 * MiB - 3}-${8 * MiB + 2}`, 8 * MiB - 3, 8 * MiB + 2], // across the part boundary
      ['bytes=-10', big.length - 10, big.length - 1],
      [`bytes=${5 * MiB}-`, 5 * MiB, big.length - 1],
    ] as const) {
      const part = await fetchRaw(uri, { Range: range });
      expect(part.status, range).toBe(206);
      expect(part.headers['content-range']).toBe(`bytes ${start}-${end}/${big.length}`);
      expect(part.headers['content-length']).toBe(String(end - start + 1));
      expect(sha(part.body), range).toBe(sha(big.subarray(start, end + 1)));
    }
    expect((await fetchRaw(uri, { Range: `bytes=${big.length}-` })).status).toBe(416);
    expect((await fetchRaw(uri, { 'If-None-Match': etag })).status).toBe(304);
    expect((await fetchRaw(uri, { 'If-Match': '"other"' })).status).toBe(412);

    for (const rel of ['MLmodel', 'empty'] as const) {
      const got = await fetchRaw(await r.signedUri('m', version, rel));
      expect(got).toMatchObject({ status: 200, outcome: 'end' });
      expect(got.body.toString()).toBe(files[rel]);
    }
  });

  it('T14: an object replaced in the bucket after signing answers 412 (If-Match at S3), never the new bytes', async () => {
    r = await startS3Regate(s3());
    const v1 = pattern(3 * MiB, 1);
    const version = await r.register('m', { 'model.bin': v1 });
    const uri = await r.signedUri('m', version, 'model.bin');
    // MLflow fetches in chunks: the first one is v1's.
    const first = await fetchRaw(uri, { Range: `bytes=0-${MiB - 1}` });
    expect(first.status).toBe(206);
    expect(sha(first.body)).toBe(sha(v1.subarray(0, MiB)));
    // The object flips to v2 behind the signed URI (same size, other bytes).
    await r.s3.send(new PutObjectCommand({ Bucket: r.bucket, Key: await managedKey(r, 'model.bin'), Body: pattern(3 * MiB, 2) }));
    for (const headers of [{ Range: `bytes=${MiB}-${2 * MiB - 1}` }, {}] as Array<Record<string, string>>) {
      const later = await fetchRaw(uri, headers);
      expect(later.status).toBe(412);
      expect(JSON.parse(later.body.toString()).error_code).toBe('PRECONDITION_FAILED');
    }
    expect(r.logLines.some((l) => l.event === 'artifact_download_refused' && l.fields.reason === 'storage_precondition_failed')).toBe(true);
  });
});
