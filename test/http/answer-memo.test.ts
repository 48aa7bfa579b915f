/**
 * The answer memo of hot GETs (src/http/answer-memo.ts), on a manual clock: a memoised answer is byte for byte
 * the full handler's, every memoised signing call is audited, a signed URI is re-minted when the token reuse
 * window closes, and nothing it was computed from can change unseen (registry writes, another caller).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { makeHarness, type Harness, type Identity } from '../helpers/harness.ts';
import { REUSE_FRACTION } from '../../src/core/artifacts/issued-tokens.ts';
import { listAudit } from '../../src/core/audit.ts';

const AREA = '/databricks/mlflow/tmp-external-source';
const MLFLOW = '/api/2.0/mlflow';
const SIGN = { name: 'm', version: '1', path: 'MLmodel' };
let h: Harness;
let bo: Identity;

beforeEach(async () => {
  h = await makeHarness({ env: {} });
  const ana = await h.user('ana@x');
  bo = await h.user('bo@x');
  await h.expectOk('POST', `${MLFLOW}/registered-models/create`, { token: ana.token, body: { name: 'm' } });
  await h.call('POST', `/dbfs${AREA}/r1/model/MLmodel`, { token: ana.token, rawBody: 'x' });
  await h.expectOk('POST', `${MLFLOW}/model-versions/create`, { token: ana.token, body: { name: 'm', source: `dbfs:${AREA}/r1/model` } });
  const id = (await h.expectOk('GET', `${MLFLOW}/databricks/registered-models/get`, { query: { name: 'm' } })).registered_model_databricks.id;
  await h.expectOk('PATCH', `/api/2.0/permissions/registered-models/${id}`, {
    body: { access_control_list: [{ user_name: 'bo@x', permission_level: 'CAN_READ' }] },
  });
});

const sign = () => h.call('GET', `${MLFLOW}/model-versions/get-signed-download-uri`, { token: bo.token, query: SIGN });

describe('answer memo', () => {
  it('a repeated signing call answers the same bytes and headers, and each call leaves its own audit row', async () => {
    const a = await sign();
    const b = await sign();
    expect(a.status).toBe(200);
    expect(b.text).toBe(a.text);
    expect(b.headers.get('cache-control')).toBe('private, no-store');
    expect(b.headers.get('referrer-policy')).toBe('no-referrer');
    expect(b.headers.get('content-type')).toBe('application/json');
    await h.deps.audit.flush();
    const rows = (await listAudit(h.db, { principalId: bo.id, action: 'sign_uri', limit: 10 })).filter((r) => r.path === 'MLmodel');
    expect(rows).toHaveLength(2);
    expect(rows[0]!.detail).toBe(rows[1]!.detail); // the same token (jti) handed out twice, as issued-tokens.ts does
  });

  it('once the token reuse window has closed, a new URI is minted', async () => {
    const a = await sign();
    const windowMs = h.deps.config.signedUriTtlSeconds * REUSE_FRACTION * 1000;
    h.clock.advance(windowMs - 1000);
    expect((await sign()).text).toBe(a.text);
    h.clock.advance(1001);
    const c = await sign();
    expect(c.status).toBe(200);
    expect(c.text).not.toBe(a.text);
  });

  it('registered-models/get: a registry write shows at once; another caller is decided for itself', async () => {
    const get = (token: string) => h.call('GET', `${MLFLOW}/registered-models/get`, { token, query: { name: 'm' } });
    const first = await get(bo.token);
    expect((await get(bo.token)).text).toBe(first.text);
    await h.expectOk('POST', `${MLFLOW}/registered-models/set-tag`, { body: { name: 'm', key: 'team', value: 'x' } });
    const tagged = await get(bo.token);
    expect(tagged.json.registered_model.tags).toEqual([{ key: 'team', value: 'x' }]);
    const eve = await h.user('eve@x');
    expect((await get(eve.token)).status).toBe(404);
  });

  it('another spelling of the same request is computed in full and answers the same URI', async () => {
    const a = await sign();
    const b = await h.call('GET', `${MLFLOW}/model-versions/get-signed-download-uri`, { token: bo.token, query: { path: 'MLmodel', version: '1', name: 'm' } });
    expect(b.status).toBe(200);
    expect(b.json.signed_uri).toBe(a.json.signed_uri);
  });
});
