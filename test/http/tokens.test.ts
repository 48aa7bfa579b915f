import { beforeEach, describe, expect, it } from 'vitest';
import { makeHarness, SCIM, type Harness } from '../helpers/harness.ts';

let h: Harness;
beforeEach(async () => {
  h = await makeHarness();
});

const me = (h: Harness, token: string) => h.call('GET', `${SCIM}/Me`, { token });

describe('token lifecycle', () => {
  it('create, use, list, revoke', async () => {
    const u = await h.user('dee@x');
    const created = await h.expectOk('POST', '/api/2.0/token/create', { token: u.token, body: { comment: 'laptop' } });
    expect(created.token_value).toMatch(/^dapi[0-9a-f]{32}$/);
    expect(created.token_info.expiry_time).toBe(-1);
    expect((await me(h, created.token_value)).json.userName).toBe('dee@x');
    const list = await h.expectOk('GET', '/api/2.0/token/list', { token: u.token });
    expect(list.token_infos.map((t: { comment: string }) => t.comment).sort()).toEqual(['', 'laptop']);
    expect(JSON.stringify(list)).not.toContain(created.token_value);
    await h.expectOk('POST', '/api/2.0/token/delete', { token: u.token, body: { token_id: created.token_info.token_id } });
    const revoked = await me(h, created.token_value);
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get('WWW-Authenticate')).toContain('invalid_token');
    expect(revoked.json.error_code).toBe('UNAUTHENTICATED');
  });

  it('expires at its lifetime, by the injected clock', async () => {
    const t = await h.expectOk('POST', '/api/2.0/token/create', { body: { lifetime_seconds: 60 } });
    expect(t.token_info.expiry_time).toBe(t.token_info.creation_time + 60_000);
    h.clock.advance(59_999);
    expect((await me(h, t.token_value)).status).toBe(200);
    h.clock.advance(1);
    expect((await me(h, t.token_value)).status).toBe(401);
  });

  it('one cannot delete another principal\'s token through /token/delete', async () => {
    const a = await h.user('a@x');
    const b = await h.user('b@x');
    const t = await h.expectOk('POST', '/api/2.0/token/create', { token: a.token, body: {} });
    const r = await h.call('POST', '/api/2.0/token/delete', { token: b.token, body: { token_id: t.token_info.token_id } });
    expect(r.status).toBe(404);
    expect((await me(h, t.token_value)).status).toBe(200);
  });

  it('admins create tokens on behalf of service principals and users, and manage them', async () => {
    const sp = await h.servicePrincipal('serving');
    expect((await me(h, sp.token)).json.applicationId).toBe(sp.name);
    const all = await h.expectOk('GET', '/api/2.0/token-management/tokens');
    const info = all.token_infos.find((t: { owner_id: number }) => String(t.owner_id) === sp.id);
    expect(Number.isSafeInteger(info.owner_id)).toBe(true);
    expect(info.created_by_username).toBe('admin');
    await h.expectOk('DELETE', `/api/2.0/token-management/tokens/${info.token_id}`);
    expect((await me(h, sp.token)).status).toBe(401);
    const both = await h.call('POST', '/api/2.0/token-management/on-behalf-of/tokens', { body: { user_name: 'x', application_id: 'y' } });
    expect(both.status).toBe(400);
    const u = await h.user('e@x');
    const notAdmin = await h.call('POST', '/api/2.0/token-management/on-behalf-of/tokens', { token: u.token, body: { user_name: 'e@x' } });
    expect(notAdmin.status).toBe(403);
  });

  it('a token stops working when its principal is deleted', async () => {
    const u = await h.user('gone@x');
    await h.expectOk('DELETE', `${SCIM}/Users/${u.id}`);
    expect((await me(h, u.token)).status).toBe(401);
  });

  it('stores only a hash of each token', async () => {
    const u = await h.user('f@x');
    const rows = await h.db.prepare('SELECT * FROM tokens').all<Record<string, unknown>>();
    expect(JSON.stringify(rows)).not.toContain(u.token);
    expect(JSON.stringify(rows)).not.toContain(h.adminToken);
  });
});

describe('authentication', () => {
  it.each([
    ['no header', undefined, false],
    ['Basic scheme', 'Basic YWRtaW46cGFzcw==', true],
    ['Token scheme', 'Token dapi0123456789abcdef0123456789abcdef', true],
    ['two credentials', 'Bearer a1b2c3d4e5f6, Bearer a1b2c3d4e5f6', true],
    ['unknown token', 'Bearer dapi00000000000000000000000000000000', true],
    ['garbage', 'Bearer !!!', true],
  ])('%s → 401 with a Bearer challenge', async (_name, header, invalidToken) => {
    const r = await h.call('GET', `${SCIM}/Me`, { token: null, headers: header ? { Authorization: header } : {} });
    expect(r.status).toBe(401);
    expect(r.json.error_code).toBe('UNAUTHENTICATED');
    expect(r.headers.get('WWW-Authenticate')).toMatch(/^Bearer /);
    expect(r.headers.get('WWW-Authenticate')?.includes('invalid_token')).toBe(invalidToken);
  });

  it('accepts the scheme in any case', async () => {
    const r = await h.call('GET', `${SCIM}/Me`, { token: null, headers: { Authorization: `bEaReR ${h.adminToken}` } });
    expect(r.status).toBe(200);
  });

  it('serves host metadata without credentials', async () => {
    const r = await h.call('GET', '/.well-known/databricks-config', { token: null });
    expect(r.status).toBe(200);
    expect(r.json.workspace_id).toBe(h.deps.workspaceId);
    // The OIDC root the Go SDK warns about when missing (item 20); localhost is the harness's loopback origin.
    expect(r.json.oidc_endpoint).toBe('http://localhost/oidc');
  });
});
