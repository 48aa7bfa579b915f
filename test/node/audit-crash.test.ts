/**
 * What a crash can lose of the audit trail (README "Audit durability"), with a real process and `kill -9`:
 * - a change's own audit row (grant changes) commits with the change: every acknowledged change and its row
 *   survive `kill -9`;
 * - rows of the group commit (denials, downloads, signed-URI issues) are written within the flush delay with
 *   no further request; once written they survive `kill -9`; the database is intact afterwards;
 * - SIGTERM writes every waiting row before the process exits.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { exited, startNode } from '../helpers/node-process.ts';

const TOKEN = 'dapi-audit-crash-0123456789abcdef';
const running: ChildProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.kill('SIGKILL');
});

const start = (dataDir: string) => startNode({ REGATE_DATA_DIR: dataDir, REGATE_ADMIN_TOKEN: TOKEN }, running);

async function api(url: string, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(`${url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, json: await r.json() };
}

function count(dataDir: string, where: string): number {
  const db = new DatabaseSync(join(dataDir, 'regate.sqlite'), { readOnly: true });
  try {
    return Number((db.prepare(`SELECT COUNT(*) AS n FROM audit WHERE ${where}`).get() as { n: number }).n);
  } finally {
    db.close();
  }
}

/** Polls the database file (another connection, as a reader would) until `ok`, for at most 5 s. */
async function until(ok: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!ok()) {
    if (Date.now() > end) throw new Error('condition not met within 5 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function setup(url: string) {
  await api(url, 'POST', '/api/2.0/preview/scim/v2/Users', TOKEN, { userName: 'ana@x' });
  const t = await api(url, 'POST', '/api/2.0/token-management/on-behalf-of/tokens', TOKEN, { user_name: 'ana@x' });
  await api(url, 'POST', '/api/2.0/mlflow/registered-models/create', TOKEN, { name: 'm' });
  const m = await api(url, 'GET', '/api/2.0/mlflow/databricks/registered-models/get?name=m', TOKEN);
  return { anaToken: t.json.token_value as string, modelId: m.json.registered_model_databricks.id as string };
}

describe('audit durability', () => {
  it('kill -9 loses no acknowledged change, and no group-committed row once written', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'regate-crash-')), 'data');
    const { url, proc } = await start(dataDir);
    const { anaToken, modelId } = await setup(url);
    const levels = ['CAN_READ', 'CAN_EDIT', 'CAN_MANAGE_STAGING_VERSIONS', 'CAN_MANAGE_PRODUCTION_VERSIONS', 'CAN_MANAGE'];
    for (let i = 0; i < 20; i++) {
      const r = await api(url, 'PATCH', `/api/2.0/permissions/registered-models/${modelId}`, TOKEN, {
        access_control_list: [{ user_name: 'ana@x', permission_level: levels[i % levels.length] }],
      });
      expect(r.status).toBe(200);
    }
    // Denials (group-committed rows): ana reads a model it has no permission on.
    await api(url, 'POST', '/api/2.0/mlflow/registered-models/create', TOKEN, { name: 'secret' });
    for (let i = 0; i < 10; i++) {
      expect((await api(url, 'GET', '/api/2.0/mlflow/registered-models/get?name=secret', anaToken)).status).toBe(404);
    }
    // No further request: the group commit writes the ten rows by itself.
    await until(() => count(dataDir, "action = 'denied'") === 10);
    proc.kill('SIGKILL');
    await exited(proc);

    expect(count(dataDir, "action = 'grant_change'")).toBe(20);
    expect(count(dataDir, "action = 'denied'")).toBe(10);
    const db = new DatabaseSync(join(dataDir, 'regate.sqlite'));
    try {
      expect((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check).toBe('ok');
      const g = db.prepare('SELECT level FROM grants WHERE object_id = ? AND principal_id = (SELECT id FROM principals WHERE name = ?)').get(modelId, 'ana@x') as { level: string };
      expect(g.level).toBe(levels[19 % levels.length]);
    } finally {
      db.close();
    }
    // And the data directory starts again with everything in place.
    const again = await start(dataDir);
    const log = await api(again.url, 'GET', '/api/2.0/regate/audit?action=grant_change&max_results=100', TOKEN);
    expect(log.json.events).toHaveLength(20);
  });

  it('SIGTERM writes every waiting row before exiting', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'regate-term-')), 'data');
    const { url, proc } = await start(dataDir);
    const { anaToken } = await setup(url);
    await api(url, 'POST', '/api/2.0/mlflow/registered-models/create', TOKEN, { name: 'secret' });
    for (let i = 0; i < 25; i++) await api(url, 'GET', '/api/2.0/mlflow/registered-models/get?name=secret', anaToken);
    proc.kill('SIGTERM');
    await exited(proc);
    expect(count(dataDir, "action = 'denied'")).toBe(25);
  });
});
