/**
 * Migration 0009's data epoch: every INSERT, UPDATE and DELETE on the tables cached registry reads come from
 * moves `data_epoch` inside the same statement (triggers, so no write path can forget it), and the hot write
 * that is not registry data (audit rows) does not. Also: the migration splitter keeps a trigger whole.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from '../helpers/harness.ts';
import { readEpochs } from '../../src/core/access/epoch.ts';
import { splitStatements } from '../../src/core/migrate.ts';

const AREA = '/databricks/mlflow/tmp-external-source';
const MLFLOW = '/api/2.0/mlflow';
const TABLES = ['registered_models', 'model_tags', 'model_versions', 'version_tags', 'grants', 'artifacts'] as const;

let h: Harness;
const data = async () => (await readEpochs(h.db)).data;

beforeAll(async () => {
  h = await makeHarness({ env: {} });
  const ana = await h.user('ana@x');
  await h.expectOk('POST', `${MLFLOW}/registered-models/create`, { token: ana.token, body: { name: 'm', tags: [{ key: 'k', value: 'v' }] } });
  await h.call('POST', `/dbfs${AREA}/r1/model/MLmodel`, { token: ana.token, rawBody: 'x' });
  await h.expectOk('POST', `${MLFLOW}/model-versions/create`, { token: ana.token, body: { name: 'm', source: `dbfs:${AREA}/r1/model` } });
  await h.expectOk('POST', `${MLFLOW}/model-versions/set-tag`, { token: ana.token, body: { name: 'm', version: '1', key: 'k', value: 'v' } });
});

describe('data epoch', () => {
  it('every table of cached reads has rows, and creating them moved the epoch', async () => {
    for (const t of TABLES) {
      const n = (h.db.db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n;
      expect(n, t).toBeGreaterThan(0);
    }
    expect(await data()).toBeGreaterThan(TABLES.length);
  });

  it.each(TABLES)('%s: DELETE, INSERT and UPDATE each move it, even written around regate', async (t) => {
    const raw = h.db.db;
    raw.exec('PRAGMA foreign_keys = OFF');
    try {
      const rows = raw.prepare(`SELECT * FROM ${t}`).all() as Record<string, string | number | null>[];
      // Generated columns (artifacts.dir) are read, never written.
      const cols = (raw.prepare(`PRAGMA table_xinfo(${t})`).all() as { name: string; hidden: number }[]).filter((c) => c.hidden === 0).map((c) => c.name);
      let before = await data();
      raw.exec(`DELETE FROM ${t}`);
      expect(await data()).toBeGreaterThan(before);
      before = await data();
      const insert = raw.prepare(`INSERT INTO ${t} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
      for (const r of rows) insert.run(...cols.map((c) => r[c]!));
      expect(await data()).toBe(before + rows.length);
      before = await data();
      raw.exec(`UPDATE ${t} SET ${cols[0]} = ${cols[0]}`);
      expect(await data()).toBe(before + rows.length);
    } finally {
      raw.exec('PRAGMA foreign_keys = ON');
    }
  });

  it('audit rows, tokens and other bookkeeping do not move it', async () => {
    const before = await readEpochs(h.db);
    h.deps.audit.record({ principalId: null, action: 'denied', status: 403, detail: 'x' });
    await h.deps.audit.flush();
    await h.user('bo@x'); // a principal and a token: not registry data (their own epochs cover them)
    const after = await readEpochs(h.db);
    expect(after.data).toBe(before.data);
  });

  it('splitStatements keeps a trigger body (with its own semicolons) in one statement', () => {
    const sql = `-- c\nCREATE TABLE t (a);\nCREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = 1; DELETE FROM t WHERE a = 2; END;\nCREATE INDEX i ON t (a);\n`;
    expect(splitStatements(sql)).toEqual([
      'CREATE TABLE t (a)',
      'CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = 1; DELETE FROM t WHERE a = 2; END',
      'CREATE INDEX i ON t (a)',
    ]);
  });
});
