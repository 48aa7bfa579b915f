/**
 * SHA-256 of managed files over HTTP (issue 11 §2), on the Node runtime in process: registration records each
 * file's digest; list-artifacts carries it as `sha256`; a download, whole, ranged or HEAD, states the whole
 * file's digest in `Repr-Digest` (RFC 9530) and `x-regate-sha256`, within the download's statement budget;
 * copy_model_version keeps the digests; a row without a digest (an S3 version registered before 0007) lists and
 * downloads without one, never a wrong one.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { createDeps } from '../../src/http/deps.ts';
import { createLruCache } from '../../src/adapters/lru/lru-cache.ts';
import { makeHarness, type Harness } from '../helpers/harness.ts';
import { countingDb } from '../helpers/counting-db.ts';
import { manualTimers } from '../helpers/manual-timers.ts';

const AREA = '/databricks/mlflow/tmp-external-source';
const MV = '/api/2.0/mlflow/model-versions';
const sha = (b: string) => createHash('sha256').update(b).digest('hex');
const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

const FILES: Record<string, string> = { MLmodel: 'flavors: {}\n', 'data/weights.bin': 'w'.repeat(5000) + 'end', 'data/empty': '' };

let h: Harness;

async function register(name: string, source: string) {
  return h.expectOk('POST', `${MV}/create`, { body: { name, source } });
}

async function signedPath(name: string, version: string, path: string): Promise<string> {
  const uri = (await h.expectOk('GET', `${MV}/get-signed-download-uri`, { query: { name, version, path } })).signed_uri as string;
  return uri.slice(uri.indexOf('/api/'));
}

beforeAll(async () => {
  h = await makeHarness({ env: {} });
  await h.expectOk('POST', '/api/2.0/mlflow/registered-models/create', { body: { name: 'd' } });
  for (const [rel, body] of Object.entries(FILES)) await h.expectOk('POST', `/dbfs${AREA}/r1/model/${rel}`, { rawBody: body });
  await register('d', `dbfs:${AREA}/r1/model`);
});

describe('digests of managed files', () => {
  it('are recorded at registration and listed by list-artifacts as `sha256`', async () => {
    const root = await h.expectOk('GET', `${MV}/list-artifacts`, { query: { name: 'd', version: '1' } });
    expect(root.files).toEqual([
      { path: 'data', is_dir: true },
      { path: 'MLmodel', is_dir: false, file_size: FILES.MLmodel!.length, sha256: sha(FILES.MLmodel!) },
    ]);
    const data = await h.expectOk('GET', `${MV}/list-artifacts`, { query: { name: 'd', version: '1', path: 'data' } });
    expect(data.files.map((f: { sha256: string }) => f.sha256)).toEqual([sha(''), sha(FILES['data/weights.bin']!)]);
    // A path naming a file lists that file, with its digest.
    const one = await h.expectOk('GET', `${MV}/list-artifacts`, { query: { name: 'd', version: '1', path: 'MLmodel' } });
    expect(one.files[0].sha256).toBe(sha(FILES.MLmodel!));
  });

  it('downloads state the whole file\'s digest on 200, 206 and HEAD (Repr-Digest and x-regate-sha256)', async () => {
    const hex = sha(FILES['data/weights.bin']!);
    const path = await signedPath('d', '1', 'data/weights.bin');
    for (const [method, headers, status] of [
      ['GET', {}, 200],
      ['GET', { Range: 'bytes=10-19' }, 206],
      ['GET', { Range: 'bytes=-3' }, 206],
      ['HEAD', {}, 200],
    ] as const) {
      const res = await h.app.request(path, { method, headers });
      expect(res.status).toBe(status);
      expect(res.headers.get('repr-digest')).toBe(`sha-256=:${b64(hex)}:`);
      expect(res.headers.get('x-regate-sha256')).toBe(hex);
      const body = await res.text();
      if (status === 206 && 'Range' in headers && headers.Range === 'bytes=-3') expect(body).toBe('end');
    }
  });

  it('copy_model_version (models:/d/1) keeps every digest', async () => {
    const v = await register('d', 'models:/d/1');
    const version = String(v.model_version.version);
    const rows = await h.db
      .prepare('SELECT a.path, a.sha256 FROM artifacts a JOIN model_versions v ON v.storage_id = a.storage_id WHERE v.version = ? ORDER BY a.path')
      .bind(Number(version))
      .all<{ path: string; sha256: string }>();
    expect(rows).toEqual(Object.keys(FILES).sort().map((p) => ({ path: p, sha256: sha(FILES[p]!) })));
  });

  it('a download carries its digest within the 2-statement budget', async () => {
    const db = countingDb(h.db);
    const { clock, logger, config, workspaceId, objectStore, keyRing } = h.deps;
    const deps = createDeps({ db, clock, logger, config, workspaceId, objectStore, keyRing, timers: manualTimers(), cache: <V extends object>(max: number) => createLruCache<V>({ max, clock }) });
    const app = createApp(deps);
    const path = await signedPath('d', '1', 'MLmodel');
    await (await app.request(path)).arrayBuffer();
    db.reset();
    const res = await app.request(path, { headers: { Range: 'bytes=0-0' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('x-regate-sha256')).toBe(sha(FILES.MLmodel!));
    await res.arrayBuffer();
    expect(db.log.length, db.log.join('\n---\n')).toBeLessThanOrEqual(2);
  });

  it('a file without a recorded digest (older S3/R2 rows) lists and downloads without one, never a guessed one', async () => {
    await h.expectOk('POST', `/dbfs${AREA}/r9/model/f.txt`, { rawBody: 'old' });
    const v = String((await register('d', `dbfs:${AREA}/r9/model`)).model_version.version);
    await h.db
      .prepare('UPDATE artifacts SET sha256 = NULL WHERE storage_id = (SELECT storage_id FROM model_versions WHERE version = ?)')
      .bind(Number(v))
      .run();
    const listed = await h.expectOk('GET', `${MV}/list-artifacts`, { query: { name: 'd', version: v } });
    expect(listed.files).toEqual([{ path: 'f.txt', is_dir: false, file_size: 3 }]);
    const res = await h.app.request(await signedPath('d', v, 'f.txt'));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('old');
    expect(res.headers.get('repr-digest')).toBeNull();
    expect(res.headers.get('x-regate-sha256')).toBeNull();
  });
});
