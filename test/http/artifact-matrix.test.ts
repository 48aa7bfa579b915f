/**
 * T8 of range-and-signing.md §6: get-signed-download-uri (and the other ways to a version's files:
 * list-artifacts, the DBFS API, the download itself) answer 200 with bytes iff the caller's effective level,
 * from any grant source, is at least CAN_READ. Below that the answer is exactly the missing-model one.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from '../helpers/harness.ts';
import { makeGrantSources, type Fixture } from '../helpers/grant-sources.ts';

const AREA = '/databricks/mlflow/tmp-external-source';
const MV = '/api/2.0/mlflow/model-versions';
let h: Harness;
let fixtures: Fixture[];
const models = new Map<string, { name: string; managed: string }>();

async function modelWithFiles(token: string, name: string, grants: Array<Record<string, string>>) {
  await h.expectOk('POST', '/api/2.0/mlflow/registered-models/create', { token, body: { name } });
  await h.expectOk('POST', `/dbfs${AREA}/${name}/model/MLmodel`, { token, rawBody: `model ${name}` });
  await h.expectOk('POST', `${MV}/create`, { token, body: { name, source: `dbfs:${AREA}/${name}/model` } });
  if (grants.length > 0) {
    const id = (await h.expectOk('GET', '/api/2.0/mlflow/databricks/registered-models/get', { query: { name } })).registered_model_databricks.id;
    await h.expectOk('PATCH', `/api/2.0/permissions/registered-models/${id}`, { body: { access_control_list: grants } });
  }
  const uri = (await h.expectOk('GET', `${MV}/get-download-uri`, { token, query: { name, version: '1' } })).artifact_uri as string;
  return { name, managed: `${uri.slice('dbfs:'.length)}/MLmodel` };
}

beforeAll(async () => {
  h = await makeHarness({ env: {} });
  const sources = await makeGrantSources(h);
  fixtures = sources.fixtures;
  models.set('admin', await modelWithFiles(h.adminToken, 'shared', sources.modelGrants));
  models.set('creator', await modelWithFiles(sources.creatorToken, 'own', []));
});

describe('artifact access at every level from every grant source', () => {
  it('signs, lists, reads and downloads iff the effective level is at least CAN_READ', async () => {
    expect(fixtures.length).toBe(32);
    for (const fx of fixtures) {
      const m = models.get(fx.owner)!;
      const q = { name: m.name, version: '1' };
      const sign = await h.call('GET', `${MV}/get-signed-download-uri`, { token: fx.token, query: { ...q, path: 'MLmodel' } });
      const list = await h.call('GET', `${MV}/list-artifacts`, { token: fx.token, query: q });
      const read = await h.call('GET', '/api/2.0/dbfs/read', { token: fx.token, query: { path: m.managed } });
      if (fx.level === 'NO_PERMISSIONS') {
        for (const r of [sign, list]) {
          expect(r.status, fx.label).toBe(404);
          expect(r.json, fx.label).toEqual({ error_code: 'RESOURCE_DOES_NOT_EXIST', message: `Registered Model with name=${m.name} not found` });
        }
        expect(read.status, fx.label).toBe(404);
        expect(read.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
        continue;
      }
      expect(sign.status, fx.label).toBe(200);
      const got = await h.app.request(sign.json.signed_uri);
      expect(await got.text(), fx.label).toBe(`model ${m.name}`);
      expect(list.json.files, fx.label).toEqual([{ path: 'MLmodel', is_dir: false, file_size: `model ${m.name}`.length, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
      expect(atob(read.json.data), fx.label).toBe(`model ${m.name}`);
    }
  });

  it('a model that does not exist answers exactly like one the caller may not see', async () => {
    const none = fixtures.find((f) => f.level === 'NO_PERMISSIONS' && f.owner === 'admin')!;
    const hidden = await h.call('GET', `${MV}/get-signed-download-uri`, { token: none.token, query: { name: 'shared', version: '1', path: 'MLmodel' } });
    const missing = await h.call('GET', `${MV}/get-signed-download-uri`, { token: none.token, query: { name: 'absent', version: '1', path: 'MLmodel' } });
    expect(hidden.status).toBe(missing.status);
    expect(hidden.json.message.replace('shared', 'X')).toBe(missing.json.message.replace('absent', 'X'));
  });
});
