/**
 * A real process killed with `kill -9` in the middle of an upload leaves its partial temp file; the next
 * start removes it once it is older than REGATE_SWEEP_TEMP_AGE_SECONDS (a fresh one may be another process's
 * upload in flight over the same data directory, so the default hour spares it).
 */
import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { exited, startNode } from '../helpers/node-process.ts';

const running: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) p.kill('SIGKILL');
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const TOKEN = 'dapi-crash-sweep-0123456789';
const AREA = '/databricks/mlflow/tmp-external-source';

async function tempFiles(dataDir: string): Promise<string[]> {
  return readdir(join(dataDir, 'artifacts', '.regate-tmp')).catch(() => []);
}

it('a partial upload left by kill -9 is swept at the next start once old enough', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'regate-crash-'));
  dirs.push(parent);
  const dataDir = join(parent, 'data');
  const env = { REGATE_DATA_DIR: dataDir, REGATE_ADMIN_TOKEN: TOKEN };
  const first = await startNode(env, running);

  // An upload that announces 8 MiB and sends 3: the server is writing its temp file when it dies.
  const url = new URL(`${first.url}/dbfs${AREA}/crash/model/weights.bin`);
  const req = request(url, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Length': String(8 << 20) } });
  req.on('error', () => {});
  req.write(Buffer.alloc(3 << 20, 7));
  let files: string[] = [];
  for (let i = 0; i < 200; i++) {
    files = await tempFiles(dataDir);
    if (files.length > 0 && (await stat(join(dataDir, 'artifacts', '.regate-tmp', files[0]!))).size >= 2 << 20) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  expect(files).toHaveLength(1);
  first.proc.kill('SIGKILL');
  await exited(first.proc);
  req.destroy();
  expect(await tempFiles(dataDir)).toEqual(files);

  // Restarted at once: the file is seconds old, as another process's upload in flight would be. Kept.
  const second = await startNode(env, running);
  expect(await tempFiles(dataDir)).toEqual(files);
  second.proc.kill('SIGKILL');
  await exited(second.proc);

  // Started with an age the file has reached (here 0 s, standing in for the default hour): removed before serving.
  const third = await startNode({ ...env, REGATE_SWEEP_TEMP_AGE_SECONDS: '0' }, running);
  expect(await tempFiles(dataDir)).toEqual([]);
  const status = await fetch(`${third.url}/api/2.0/dbfs/get-status?path=${AREA}/crash/model/weights.bin`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  expect(status.status).toBe(404);
});
