/**
 * @module admin-reset-token.test
 * The recovery command (item 6), run as an operator would: `node scripts/admin.ts reset-token` on a data
 * directory, as a real child process, with the server stopped and with it running. It makes the admin active
 * and a member of `admins` again and prints a new token once; it never creates a data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { startNode, exited } from '../helpers/node-process.ts';

const running: ChildProcess[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) {
    p.kill('SIGTERM');
    await exited(p);
  }
});

const SCIM = '/api/2.0/preview/scim/v2';

/** Runs the admin command to completion: its exit code and output. */
function admin(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  const proc = spawn(process.execPath, ['scripts/admin.ts', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => proc.on('close', (code) => resolve({ code, out, err })));
}

const tokenIn = (text: string) => /shown only this once \(keep it\): (dapi[0-9a-f]{32})/.exec(text)?.[1];
const get = (url: string, path: string, token: string) => fetch(`${url}${path}`, { headers: { Authorization: `Bearer ${token}` } });

async function stop(proc: ChildProcess): Promise<void> {
  proc.kill('SIGTERM');
  await exited(proc);
  running.splice(running.indexOf(proc), 1);
}

/** A data directory whose only admin has lost its token (revoked it), with the server that made it. */
async function lockedOut() {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'regate-admin-')), 'data');
  const s = await startNode({ REGATE_DATA_DIR: dataDir }, running);
  const token = tokenIn(s.out)!;
  const list = await (await get(s.url, '/api/2.0/token/list', token)).json();
  const del = await fetch(`${s.url}/api/2.0/token/delete`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ token_id: list.token_infos[0].token_id }),
  });
  expect(del.status).toBe(200);
  expect((await get(s.url, `${SCIM}/Me`, token)).status).toBe(401);
  return { dataDir, server: s, oldToken: token };
}

describe('npm run admin -- reset-token', () => {
  it('with the server stopped: reactivates the admin, puts it back in admins and prints a working token once', async () => {
    const { dataDir, server } = await lockedOut();
    await stop(server.proc);
    // As if an older regate had let the last admin be deactivated and leave admins.
    const db = new DatabaseSync(join(dataDir, 'regate.sqlite'));
    db.exec(`UPDATE principals SET active = 0 WHERE kind = 'user' AND name = 'admin';
      DELETE FROM group_members WHERE group_id = (SELECT id FROM principals WHERE kind = 'group' AND name = 'admins')`);
    db.close();

    const r = await admin(['reset-token', '--data-dir', dataDir]);
    expect(r.code, r.err).toBe(0);
    const token = tokenIn(r.out);
    expect(token).toBeDefined();
    expect(r.out.match(/dapi[0-9a-f]{32}/g)).toHaveLength(1);

    const s = await startNode({ REGATE_DATA_DIR: dataDir }, running);
    const me = await (await get(s.url, `${SCIM}/Me`, token!)).json();
    expect(me.userName).toBe('admin');
    expect(me.groups.map((g: { display: string }) => g.display)).toContain('admins');
    expect((await get(s.url, `${SCIM}/Users`, token!)).status).toBe(200);
  });

  it('with the server running (REGATE_DATA_DIR): the new token works on that server at once, as an admin', async () => {
    const { dataDir, server, oldToken } = await lockedOut();
    const r = await admin(['reset-token'], { REGATE_DATA_DIR: dataDir });
    expect(r.code, r.err).toBe(0);
    const token = tokenIn(r.out)!;
    expect(token).not.toBe(oldToken);
    expect((await get(server.url, `${SCIM}/Users`, token)).status).toBe(200);
  });

  it('--user makes a new admin user when the name is not taken', async () => {
    const { dataDir, server } = await lockedOut();
    const r = await admin(['reset-token', '--data-dir', dataDir, '--user', 'rescue@example.com']);
    expect(r.code, r.err).toBe(0);
    const me = await (await get(server.url, `${SCIM}/Me`, tokenIn(r.out)!)).json();
    expect(me.userName).toBe('rescue@example.com');
    expect(me.groups.map((g: { display: string }) => g.display)).toContain('admins');
  });

  it('--user on an existing user, server running: its cached non-admin standing is dropped at once', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'regate-admin-')), 'data');
    const s = await startNode({ REGATE_DATA_DIR: dataDir }, running);
    const token = tokenIn(s.out)!;
    const post = (path: string, body: unknown) =>
      fetch(`${s.url}${path}`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post(`${SCIM}/Users`, { userName: 'ops@x' })).status).toBe(200);
    const opsToken = (await (await post('/api/2.0/token-management/on-behalf-of/tokens', { user_name: 'ops@x' })).json()).token_value;
    expect((await get(s.url, `${SCIM}/Users`, opsToken)).status).toBe(403);
    const r = await admin(['reset-token', '--data-dir', dataDir, '--user', 'ops@x']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("'ops@x'");
    expect((await get(s.url, `${SCIM}/Users`, opsToken)).status).toBe(200);
    expect((await get(s.url, `${SCIM}/Users`, tokenIn(r.out)!)).status).toBe(200);
  });

  it('refuses a directory without a regate database, and creates nothing', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'regate-admin-')), 'nothing-here');
    const r = await admin(['reset-token', '--data-dir', dataDir]);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/no regate database/);
    expect(r.out).not.toMatch(/dapi/);
    expect(existsSync(dataDir)).toBe(false);
    const usage = await admin(['frobnicate']);
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/reset-token/);
  });
});
