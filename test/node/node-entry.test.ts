/**
 * The Node entry as a newcomer meets it: `node src/runtime/node.ts` on a fresh data directory prints the
 * first admin's token once and the listening line, serves on loopback, and keeps its data across restarts.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startNode } from '../helpers/node-process.ts';

const running: ChildProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.kill('SIGTERM');
});

const start = (env: Record<string, string>) => startNode(env, running);

async function stop(proc: ChildProcess): Promise<void> {
  await new Promise<void>((resolve) => {
    proc.on('exit', () => resolve());
    proc.kill('SIGTERM');
  });
}

describe('node entry', () => {
  it('first start prints the admin token once; later starts reuse the data directory', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'regate-node-')), 'data');
    const first = await start({ REGATE_DATA_DIR: dataDir });
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const token = /shown only this once \(keep it\): (dapi[0-9a-f]{32})/.exec(first.out)?.[1];
    expect(token).toBeDefined();
    const me = await fetch(`${first.url}/api/2.0/preview/scim/v2/Me`, { headers: { Authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect((await me.json()).userName).toBe('admin');
    await stop(first.proc);

    const second = await start({ REGATE_DATA_DIR: dataDir });
    expect(second.out).not.toContain('dapi');
    const again = await fetch(`${second.url}/api/2.0/preview/scim/v2/Me`, { headers: { Authorization: `Bearer ${token}` } });
    expect(again.status).toBe(200);
  });

  it('takes the first admin token from REGATE_ADMIN_TOKEN and never prints it', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'regate-node-')), 'data');
    const token = 'dapi-ci-0123456789abcdef';
    const s = await start({ REGATE_DATA_DIR: dataDir, REGATE_ADMIN_TOKEN: token });
    expect(s.out).not.toContain(token);
    const r = await fetch(`${s.url}/api/2.0/preview/scim/v2/Me`, { headers: { Authorization: `Bearer ${token}` } });
    expect(r.status).toBe(200);
    const raw = await fetch(`${s.url}//api/2.0/preview/scim/v2/Me`, { headers: { Authorization: `Bearer ${token}` } });
    expect(raw.status).toBe(400);
  });

  it('refuses to listen beyond loopback until a public origin is configured, and starts once it is', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'regate-node-')), 'data');
    const r = spawnSync(process.execPath, ['src/runtime/node.ts'], {
      env: { ...process.env, PORT: '0', HOST: '0.0.0.0', REGATE_DATA_DIR: dataDir },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('REGATE_PUBLIC_ORIGINS');
    const s = await start({ REGATE_DATA_DIR: dataDir, HOST: '0.0.0.0', REGATE_PUBLIC_ORIGINS: 'https://regate.example.com' });
    expect(s.out).toContain('regate listening on http://0.0.0.0:');
  });
});
