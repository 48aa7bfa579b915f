/**
 * Another process holding the SQLite write lock (item 5), for real: a second connection on the data directory's
 * database holds `BEGIN IMMEDIATE` while regate serves. Reads answer 200 at once (WAL; nothing on a read path
 * writes or waits), including while an audit flush is waiting for the lock; a write answers 503
 * COULD_NOT_ACQUIRE_LOCK with Retry-After well under a second (it took the 5 s busy timeout, then a 500, and froze
 * every other request meanwhile). Once the lock is released everything, the waiting audit rows included, goes on.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { startNode } from '../helpers/node-process.ts';

const TOKEN = 'dapi-sqlite-lock-0123456789abcdef';
const running: ChildProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.kill('SIGKILL');
});

async function api(url: string, method: string, path: string, token: string, body?: unknown) {
  const t0 = performance.now();
  const r = await fetch(`${url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json = await r.json();
  return { status: r.status, json, headers: r.headers, ms: performance.now() - t0 };
}

describe('a peer process holding the SQLite write lock', () => {
  it('reads answer 200 at once; writes answer 503 COULD_NOT_ACQUIRE_LOCK with Retry-After, fast', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'regate-lock-')), 'data');
    const { url } = await startNode({ REGATE_DATA_DIR: dataDir, REGATE_ADMIN_TOKEN: TOKEN }, running);
    await api(url, 'POST', '/api/2.0/preview/scim/v2/Users', TOKEN, { userName: 'ana@x' });
    const ana = (await api(url, 'POST', '/api/2.0/token-management/on-behalf-of/tokens', TOKEN, { user_name: 'ana@x' })).json.token_value as string;
    expect((await api(url, 'POST', '/api/2.0/mlflow/registered-models/create', TOKEN, { name: 'm' })).status).toBe(200);

    const peer = new DatabaseSync(join(dataDir, 'regate.sqlite'));
    peer.exec('BEGIN IMMEDIATE');
    try {
      // A refusal: answered 403 without a write; its audit row waits in the group commit, whose flush now
      // meets the lock.
      const refused = await api(url, 'DELETE', '/api/2.0/mlflow/registered-models/delete', ana, { name: 'm' });
      expect([403, 404]).toContain(refused.status);
      for (let i = 0; i < 5; i++) {
        const get = await api(url, 'GET', '/api/2.0/mlflow/registered-models/get?name=m', TOKEN);
        expect(get.status).toBe(200);
        expect(get.ms).toBeLessThan(150);
        await new Promise((r) => setTimeout(r, 60)); // let the audit flush (100 ms) try meanwhile
      }
      const write = await api(url, 'POST', '/api/2.0/mlflow/registered-models/create', TOKEN, { name: 'n' });
      expect(write.status).toBe(503);
      expect(write.json.error_code).toBe('COULD_NOT_ACQUIRE_LOCK');
      expect(write.headers.get('Retry-After')).toBe('1');
      expect(write.ms).toBeLessThan(600);
    } finally {
      peer.exec('ROLLBACK');
    }
    expect((await api(url, 'POST', '/api/2.0/mlflow/registered-models/create', TOKEN, { name: 'n' })).status).toBe(200);
    // The refusal's audit row was kept and is written once the lock is free.
    const end = Date.now() + 5000;
    const count = () => Number((peer.prepare("SELECT COUNT(*) AS n FROM audit WHERE status IN (403, 404)").get() as { n: number }).n);
    while (count() === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(count()).toBeGreaterThan(0);
    peer.close();
  }, 30_000);
});
