/**
 * Upload names over the storage limits or clashing with another file answer 400 / 409 on every object store
 * (not a 502 or 404 that depends on the store and the order), and a data directory copied with `cp -a` (a
 * backup, a restore, a move to a new disk) serves every version with freshly signed URIs: the ETags the index
 * stored survive the copy.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { createNodeDeps } from '../../src/runtime/node-deps.ts';
import { pattern } from '../helpers/streams.ts';

const AREA = '/databricks/mlflow/tmp-external-source';
const MV = '/api/2.0/mlflow/model-versions';
const silent = { info() {}, warn() {}, error() {} };

const dirs: string[] = [];
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  // Closed first: the audit thread may still be committing rows into the directory.
  for (const o of opened.splice(0)) await o.close().catch(() => {});
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function open(dataDir: string, adminToken = 'dapi-admin-0123456789abcdef') {
  const made = await createNodeDeps({ dataDir, env: { REGATE_ADMIN_TOKEN: adminToken }, logger: silent });
  const app = createApp(made.deps);
  const call = async (method: string, path: string, body?: BodyInit, headers: Record<string, string> = {}, auth = true) => {
    const res = await app.request(path, { method, body: body ?? null, headers: { ...(auth ? { Authorization: `Bearer ${adminToken}` } : {}), ...headers } });
    const bytes = new Uint8Array(await res.arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    let json: Record<string, unknown> = {};
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      /* a download */
    }
    return { status: res.status, json, bytes, headers: res.headers };
  };
  opened.push(made);
  return { ...made, call, close: () => made.close() };
}

async function tempDataDir(): Promise<string> {
  const parent = await mkdtemp(join(tmpdir(), 'regate-names-'));
  dirs.push(parent);
  return join(parent, 'data');
}

describe.each(['memory', 'fs'] as const)('upload names on the %s store', (kind) => {
  async function app() {
    return open(kind === 'memory' ? ':memory:' : await tempDataDir());
  }

  it('a segment over 255 bytes (or a path over 1024) is a 400, one of 255 bytes is stored', async () => {
    const a = await app();
    const long = await a.call('POST', `/dbfs${AREA}/n1/${'x'.repeat(300)}`, 'bytes');
    expect(long.status).toBe(400);
    expect(long.json.error_code).toBe('INVALID_PARAMETER_VALUE');
    const deep = await a.call('POST', `/dbfs${AREA}/n1/${'abcdefghi/'.repeat(103)}f`, 'bytes');
    expect(deep.status).toBe(400);
    expect((await a.call('POST', `/dbfs${AREA}/n1/${'x'.repeat(255)}`, 'bytes')).status).toBe(200);
  });

  it.each([
    ['file first', 'a', 'a/b'],
    ['directory first', 'a/b', 'a'],
  ])('a file and a directory of the same name are a 409 RESOURCE_CONFLICT (%s)', async (_, first, second) => {
    const a = await app();
    expect((await a.call('POST', `/dbfs${AREA}/c1/${first}`, 'first')).status).toBe(200);
    const clash = await a.call('POST', `/dbfs${AREA}/c1/${second}`, 'second');
    expect(clash.status).toBe(409);
    expect(clash.json.error_code).toBe('RESOURCE_CONFLICT');
    const kept = await a.call('GET', `/dbfs${AREA}/c1/${first}`);
    expect(new TextDecoder().decode(kept.bytes)).toBe('first');
  });
});

describe('a data directory copied with cp -a', () => {
  it('serves every file with freshly signed URIs, whole and ranged', async () => {
    const dataDir = await tempDataDir();
    const files: Record<string, Uint8Array> = { MLmodel: new TextEncoder().encode('flavors: {}\n'), 'data/w.bin': pattern(300_000, 5) };
    const a = await open(dataDir);
    for (const [rel, bytes] of Object.entries(files)) {
      expect((await a.call("POST", `/dbfs${AREA}/cp1/model/${rel}`, new Blob([bytes as Uint8Array<ArrayBuffer>]))).status).toBe(200);
    }
    expect((await a.call('POST', '/api/2.0/mlflow/registered-models/create', JSON.stringify({ name: 'm' }), { 'Content-Type': 'application/json' })).status).toBe(200);
    const created = await a.call('POST', `${MV}/create`, JSON.stringify({ name: 'm', source: `dbfs:${AREA}/cp1/model` }), { 'Content-Type': 'application/json' });
    expect(created.json.model_version).toMatchObject({ status: 'READY' });
    await a.deps.audit.flush();
    await a.close();

    const copy = join(dataDir, '..', 'restored');
    execFileSync('cp', ['-a', dataDir, copy]);
    const b = await open(copy);
    for (const [rel, bytes] of Object.entries(files)) {
      const s = await b.call('GET', `${MV}/get-signed-download-uri?name=m&version=1&path=${encodeURIComponent(rel)}`);
      expect(s.status).toBe(200);
      const whole = await b.call('GET', s.json.signed_uri as string, undefined, {}, false);
      expect(whole.status, rel).toBe(200);
      expect(Buffer.from(whole.bytes).equals(Buffer.from(bytes))).toBe(true);
      const part = await b.call('GET', s.json.signed_uri as string, undefined, { Range: 'bytes=2-9' }, false);
      expect(part.status, rel).toBe(206);
      expect(Buffer.from(part.bytes).equals(Buffer.from(bytes.slice(2, 10)))).toBe(true);
    }
    await b.close();
  });

  it('a data directory from before content ETags (inode tags in the index, no sidecars) is upgraded at start', async () => {
    const dataDir = await tempDataDir();
    const bytes = pattern(70_000, 8);
    const a = await open(dataDir);
    expect((await a.call('POST', `/dbfs${AREA}/old/model/w.bin`, new Blob([bytes as Uint8Array<ArrayBuffer>]))).status).toBe(200);
    expect((await a.call('POST', '/api/2.0/mlflow/registered-models/create', JSON.stringify({ name: 'm' }), { 'Content-Type': 'application/json' })).status).toBe(200);
    await a.call('POST', `${MV}/create`, JSON.stringify({ name: 'm', source: `dbfs:${AREA}/old/model` }), { 'Content-Type': 'application/json' });
    // What the previous release wrote: "<ino>-<size>-<mtime ns>" in hex, and no .regate-etag directory.
    a.db.prepare(`UPDATE artifacts SET etag = '"9c44df-11170-187a2b3c4d5e6f70"'`).run();
    await a.deps.audit.flush();
    await a.close();
    await rm(join(dataDir, 'artifacts', '.regate-etag'), { recursive: true });

    const b = await open(dataDir);
    const s = await b.call('GET', `${MV}/get-signed-download-uri?name=m&version=1&path=w.bin`);
    const part = await b.call('GET', s.json.signed_uri as string, undefined, { Range: 'bytes=0-3' }, false);
    expect(part.status).toBe(206);
    expect(Buffer.from(part.bytes).equals(Buffer.from(bytes.slice(0, 4)))).toBe(true);
    await b.close();
  });
});
