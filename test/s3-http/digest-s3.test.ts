/**
 * Digests on the S3 store (issue 11 §2), against the real signature-checking S3 server over real sockets: S3
 * ETags are MD5, so registration streams each upload through a hasher into managed storage (one read, no
 * server-side copy); list-artifacts, the downloads (whole and ranged) and the manifest then carry the SHA-256
 * of the bytes, and copy_model_version reuses the digests it already has.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { useS3Server } from '../helpers/s3-use-server.ts';
import { fetchRaw, startS3Regate, type S3Regate } from '../helpers/s3-regate.ts';

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

const server = useS3Server();
let r: S3Regate | undefined;

afterEach(async () => {
  await r?.close();
  r = undefined;
});

describe('SHA-256 on the S3 store', () => {
  it('is computed while copying into managed storage and served by list-artifacts, downloads and the manifest', async () => {
    r = await startS3Regate(server());
    const big = randomBytes(3 * 1024 * 1024 + 17);
    const files = { MLmodel: 'flavors: {}\n', 'data/big.bin': big };
    const v = await r.register('s', files);
    const listed = await r.call('GET', '/api/2.0/mlflow/model-versions/list-artifacts', { query: { name: 's', version: v, path: 'data' } });
    expect(listed.json.files).toEqual([{ path: 'data/big.bin', is_dir: false, file_size: big.length, sha256: sha(big) }]);

    const uri = await r.signedUri('s', v, 'data/big.bin');
    const whole = await fetchRaw(uri);
    expect(whole.status).toBe(200);
    expect(whole.headers['x-regate-sha256']).toBe(sha(big));
    expect(whole.headers['repr-digest']).toBe(`sha-256=:${createHash('sha256').update(big).digest('base64')}:`);
    expect(sha(whole.body)).toBe(sha(big));
    const part = await fetchRaw(uri, { Range: 'bytes=5-9' });
    expect([part.status, part.headers['x-regate-sha256']]).toEqual([206, sha(big)]);

    const m = await r.call('GET', '/api/2.0/regate/model-versions/manifest', { query: { name: 's', version: v } });
    expect(m.json.files.map((f: { path: string; sha256: string }) => [f.path, f.sha256])).toEqual([
      ['MLmodel', sha(files.MLmodel)],
      ['data/big.bin', sha(big)],
    ]);

    // copy_model_version: the digests come from the index, the bytes by S3's server-side copy.
    const copied = await r.call('POST', '/api/2.0/mlflow/model-versions/create', { body: { name: 's', source: `models:/s/${v}` } });
    const v2 = String(copied.json.model_version.version);
    const again = await r.call('GET', '/api/2.0/regate/model-versions/manifest', { query: { name: 's', version: v2 } });
    expect(again.json.files.map((f: { sha256: string }) => f.sha256)).toEqual([sha(files.MLmodel), sha(big)]);
  }, 60_000);
});
