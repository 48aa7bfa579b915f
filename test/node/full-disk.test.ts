/**
 * A full disk, for real (item 4): regate's data directory on a small tmpfs, filled up. Uploads and other writes
 * answer 507 RESOURCE_EXHAUSTED (they answered 500), refusals stay 403 (their audit row waits in the group
 * commit; the failed flush neither crashes the process nor loses the row), reads answer 200, and an admin's
 * version delete commits (on the database's reserve) and frees the space, after which writes work again.
 * Also on a real socket: a raw upload over the size limit is cut off with 413 and leaves no file behind.
 * Skipped where this container may not mount a tmpfs.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exited, startNode } from '../helpers/node-process.ts';
import { postChunked } from '../helpers/chunked-post.ts';

const TOKEN = 'dapi-full-disk-0123456789abcdef';
const AREA = '/databricks/mlflow/tmp-external-source';
const MiB = 1024 * 1024;
const running: ChildProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.kill('SIGKILL');
});

let mnt: string | undefined;
beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'regate-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', dir], { stdio: 'ignore' });
    mnt = dir;
  } catch {
    mnt = undefined;
  }
});
afterAll(async () => {
  for (const p of running.splice(0)) {
    p.kill('SIGKILL');
    await exited(p);
  }
  if (mnt) execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
});

async function api(url: string, method: string, path: string, token: string, body?: unknown) {
  const r = await fetch(`${url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : {}, text };
}

async function rawUpload(url: string, token: string, path: string, bytes: Uint8Array<ArrayBuffer>) {
  const r = await fetch(`${url}/dbfs${AREA}${path}`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: bytes });
  return { status: r.status, json: await r.json() };
}

/** Writes filler files until the file system refuses: the disk is then full. */
function fill(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const block = Buffer.alloc(256 * 1024, 7);
  for (let i = 0; ; i++) {
    try {
      writeFileSync(join(dir, `f${i}`), block);
    } catch {
      break;
    }
  }
  for (let i = 0; ; i++) {
    try {
      writeFileSync(join(dir, `s${i}`), Buffer.alloc(4096, 7));
    } catch {
      return;
    }
  }
}

/** Every file below `dir`. */
function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

describe('a full disk', () => {
  it('answers 507, keeps refusals 403 and reads 200, and lets an admin delete a version to free space', async (ctx) => {
    if (!mnt) return ctx.skip();
    const dataDir = join(mnt, 'data');
    const { url, proc } = await startNode({ REGATE_DATA_DIR: dataDir, REGATE_ADMIN_TOKEN: TOKEN, REGATE_MAX_UPLOAD_FILE_BYTES: String(4 * MiB) }, running);
    expect(statSync(join(dataDir, 'regate.sqlite-reserve')).size).toBeGreaterThan(0);
    await api(url, 'POST', '/api/2.0/preview/scim/v2/Users', TOKEN, { userName: 'ana@x' });
    const ana = (await api(url, 'POST', '/api/2.0/token-management/on-behalf-of/tokens', TOKEN, { user_name: 'ana@x' })).json.token_value as string;
    expect((await api(url, 'POST', '/api/2.0/mlflow/registered-models/create', TOKEN, { name: 'm' })).status).toBe(200);
    const id = (await api(url, 'GET', '/api/2.0/mlflow/databricks/registered-models/get?name=m', TOKEN)).json.registered_model_databricks.id;
    expect((await api(url, 'PATCH', `/api/2.0/permissions/registered-models/${id}`, TOKEN, { access_control_list: [{ user_name: 'ana@x', permission_level: 'CAN_READ' }] })).status).toBe(200);

    // A raw upload over the file limit is cut off on the socket, and leaves no file behind.
    const before = files(join(dataDir, 'artifacts')).length;
    const cut = await postChunked({ url, path: `/dbfs${AREA}/big/f`, token: TOKEN, total: 200 * MiB, fill: 1, chunkBytes: 64 * 1024 });
    expect(cut.response).toMatch(/^HTTP\/1\.1 413 /);
    expect(cut.response).toContain('"error_code":"MAX_BLOCK_SIZE_EXCEEDED"');
    expect(cut.written).toBeLessThan(100 * MiB);
    expect(files(join(dataDir, 'artifacts')).length).toBe(before);

    // A version with 3 MiB of files.
    expect((await rawUpload(url, TOKEN, '/v1/model/MLmodel', new TextEncoder().encode('flavors: {}\n'))).status).toBe(200);
    expect((await rawUpload(url, TOKEN, '/v1/model/w.bin', new Uint8Array(3 * MiB).fill(3))).status).toBe(200);
    expect((await api(url, 'POST', '/api/2.0/mlflow/model-versions/create', TOKEN, { name: 'm', source: `dbfs:${AREA}/v1/model` })).status).toBe(200);

    fill(join(mnt, 'filler'));

    const up = await rawUpload(url, ana, '/x/f', new Uint8Array(64 * 1024));
    expect(up.status).toBe(507);
    expect(up.json.error_code).toBe('RESOURCE_EXHAUSTED');
    const write = await api(url, 'POST', '/api/2.0/mlflow/registered-models/create', TOKEN, { name: 'n', description: 'x'.repeat(60_000) });
    expect(write.status).toBe(507);
    expect(write.json.error_code).toBe('RESOURCE_EXHAUSTED');
    // Refusals answer 403 (their audit row waits for room), reads answer 200.
    for (let i = 0; i < 3; i++) {
      const refused = await api(url, 'DELETE', '/api/2.0/mlflow/registered-models/delete', ana, { name: 'm' });
      expect(refused.status).toBe(403);
      await new Promise((r) => setTimeout(r, 120)); // let the audit flush fail meanwhile
    }
    expect((await api(url, 'GET', '/api/2.0/mlflow/registered-models/get?name=m', ana)).status).toBe(200);
    expect(proc.exitCode).toBeNull();

    // The admin's delete commits on the full disk and frees the version's files.
    const del = await api(url, 'DELETE', '/api/2.0/mlflow/model-versions/delete', TOKEN, { name: 'm', version: '1' });
    expect(del.status).toBe(200);
    // The uploads too, by their owner.
    expect((await api(url, 'POST', '/api/2.0/dbfs/delete', TOKEN, { path: `${AREA}/v1`, recursive: true })).status).toBe(200);
    const again = await api(url, 'POST', '/api/2.0/mlflow/registered-models/create', TOKEN, { name: 'n' });
    expect(again.status).toBe(200);

    // The refusals' audit rows were kept and written once there was room.
    const db = new DatabaseSync(join(dataDir, 'regate.sqlite'));
    const denied = () => Number((db.prepare("SELECT COUNT(*) AS n FROM audit WHERE action = 'denied' AND status = 403").get() as { n: number }).n);
    // The group commit backs off while writes fail (at most AUDIT_MAX_RETRY_MS between attempts).
    const end = Date.now() + 12_000;
    while (denied() < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(denied()).toBe(3);
    db.close();
    expect(proc.exitCode).toBeNull();
    rmSync(join(mnt, 'filler'), { recursive: true, force: true });
  }, 60_000);
});
