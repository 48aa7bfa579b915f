/**
 * The pages in-process: no page without a session, no write without the form token and a same-site Origin,
 * a page refuses exactly what the API refuses (and the refusal is audited), the cookie's flags over HTTP and
 * HTTPS, and the page flows (grant through the Permission Settings dialog, requests and their buttons).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { makeHarness, type Harness, type Identity } from '../helpers/harness.ts';
import { registry } from '../helpers/registry.ts';
import { pageClient } from '../helpers/page-client.ts';

let h: Harness;
let owner: Identity;
let reader: Identity;
let staging: Identity;
let prod: Identity;
let modelId: string;

async function auditSince(before: number) {
  await h.deps.audit.flush();
  return h.db.prepare('SELECT principal_id, action, model_id, status, detail FROM audit WHERE id > ? ORDER BY id').bind(before)
    .all<{ principal_id: string | null; action: string; model_id: string | null; status: number; detail: string }>();
}
async function lastAuditId(): Promise<number> {
  await h.deps.audit.flush();
  return (await h.db.prepare('SELECT MAX(id) AS id FROM audit').first<{ id: number | null }>())?.id ?? 0;
}

beforeAll(async () => {
  h = await makeHarness();
  const r = registry(h);
  owner = await h.user('owner@x');
  reader = await h.user('reader@x');
  staging = await h.user('staging@x');
  prod = await h.user('prod@x');
  await r.createModel('fraud', owner.token, { description: 'first' });
  await r.createVersion('fraud', 's3://bucket/fraud/1', {}, owner.token);
  modelId = await r.modelId('fraud');
  await r.grant('fraud', 'reader@x', 'CAN_READ');
  await r.grant('fraud', 'staging@x', 'CAN_MANAGE_STAGING_VERSIONS');
  await r.grant('fraud', 'prod@x', 'CAN_MANAGE_PRODUCTION_VERSIONS');
});

describe('sessions', () => {
  it('no page without a session: GET redirects to sign-in with the way back, POST is 401 and changes nothing', async () => {
    const p = pageClient(h);
    for (const path of ['/ui/models', '/ui/model?name=fraud', `/ui/permissions?model=fraud`, '/ui/permissions?registry=1']) {
      const r = await p.send('GET', path);
      expect(r.status, path).toBe(303);
      expect(r.location).toBe(`/ui/sign-in?next=${encodeURIComponent(path)}`);
    }
    const r = await p.send('POST', '/ui/model/description', { form: { name: 'fraud', description: 'x', csrf: 'x' } });
    expect(r.status).toBe(401);
    expect(r.text).toContain('nothing was changed');
    const m = await h.expectOk('GET', '/api/2.0/mlflow/registered-models/get', { query: { name: 'fraud' } });
    expect(m.registered_model.description).toBe('first');
  });

  it('a bad, revoked or bearer-only credential is no session', async () => {
    const p = pageClient(h);
    const t = await h.expectOk('POST', '/api/2.0/token/create', { token: reader.token, body: {} });
    expect((await p.signIn(t.token_value)).status).toBe(303);
    expect((await p.send('GET', '/ui/models')).status).toBe(200);
    await h.expectOk('POST', '/api/2.0/token/delete', { token: reader.token, body: { token_id: t.token_info.token_id } });
    expect((await p.send('GET', '/ui/models')).status).toBe(303);
    expect((await p.send('GET', '/ui/models', { cookie: 'regate_session=dapi0000000000000000000000000000beef' })).status).toBe(303);
    expect((await p.send('GET', '/ui/models', { cookie: null, headers: { Authorization: `Bearer ${h.adminToken}` } })).status).toBe(303);
  });

  it('sign-in: a wrong token is refused in words; the cookie is HttpOnly, SameSite=Strict, Secure only over HTTPS', async () => {
    const p = pageClient(h);
    const bad = await p.signIn('dapinottoken');
    expect(bad.status).toBe(401);
    expect(bad.text).toContain('Sign-in failed: Invalid access token.');
    expect(bad.headers.get('Set-Cookie')).toBeNull();
    const ok = await p.signIn(reader.token);
    const set = ok.headers.get('Set-Cookie')!;
    expect(set).toMatch(/^regate_session=/);
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/SameSite=Strict/);
    expect(set).not.toMatch(/Secure/);
    const s = pageClient(h, 'https://regate.test');
    const secure = (await s.signIn(reader.token)).headers.get('Set-Cookie')!;
    expect(secure).toMatch(/^__Host-regate_session=/);
    expect(secure).toMatch(/; Secure/);
    expect(secure).toMatch(/Path=\//);
    expect((await s.send('GET', '/ui/models')).status).toBe(200);
  });

  it('sign-in from another site is refused (login CSRF); `next` never leaves the site', async () => {
    const p = pageClient(h);
    const r = await p.send('POST', '/ui/sign-in', { form: { token: reader.token }, headers: { Origin: 'https://evil.example' } });
    expect(r.status).toBe(403);
    expect(r.headers.get('Set-Cookie')).toBeNull();
    const r2 = await p.send('POST', '/ui/sign-in', { form: { token: reader.token, next: '//evil.example/x' } });
    expect(r2.location).toBe('/ui/models');
  });

  it('sign-out needs the form token, then the cookie is gone', async () => {
    const p = pageClient(h);
    await p.signIn(reader.token);
    expect((await p.send('POST', '/ui/sign-out', { form: {} })).status).toBe(403);
    const out = await p.send('POST', '/ui/sign-out', { form: { csrf: await p.csrf() } });
    expect(out.status).toBe(303);
    expect(out.headers.get('Set-Cookie')).toMatch(/^regate_session=;.*Max-Age=0/);
  });

  it('a form that is not urlencoded, not UTF-8 or over 1 MiB is a 400 page, never a 5xx', async () => {
    const p = pageClient(h);
    await p.signIn(owner.token);
    const csrf = await p.csrf();
    const bodies: Array<[string, BodyInit]> = [
      ['multipart/form-data; boundary=x', 'garbage'],
      ['application/json', JSON.stringify({ csrf, name: 'fraud', description: 'x' })],
      ['application/x-www-form-urlencoded', new Uint8Array([0x63, 0x3d, 0xff, 0xfe])],
      ['application/x-www-form-urlencoded', `csrf=${csrf}&name=fraud&description=${'x'.repeat(1024 * 1024)}`],
    ];
    for (const path of ['/ui/model/description', '/ui/sign-in']) {
      for (const [type, body] of bodies) {
        const r = await h.app.request(`http://regate.test${path}`, { method: 'POST', body, headers: { Cookie: p.cookie!, 'Content-Type': type, Origin: 'http://regate.test' } });
        expect(r.status, `${path} ${type}`).toBe(400);
        expect(await r.text()).toContain('This form could not be read');
      }
    }
    const m = await h.expectOk('GET', '/api/2.0/mlflow/registered-models/get', { query: { name: 'fraud' } });
    expect(m.registered_model.description).toBe('first');
  });

  it('pages carry a strict CSP, no framing and no caching', async () => {
    const p = pageClient(h);
    await p.signIn(reader.token);
    const r = await p.send('GET', '/ui/models');
    expect(r.headers.get('Content-Security-Policy')).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
    expect(r.headers.get('X-Frame-Options')).toBe('DENY');
    expect(r.headers.get('Cache-Control')).toBe('no-store');
  });
});

describe('CSRF', () => {
  it('a write without the form token, with a wrong one, or from another origin changes nothing and is audited', async () => {
    const p = pageClient(h);
    await p.signIn(owner.token);
    const token = await p.csrf();
    const before = await lastAuditId();
    const cases: Array<[Record<string, string>, Record<string, string>]> = [
      [{ name: 'fraud', description: 'pwned' }, {}],
      [{ name: 'fraud', description: 'pwned', csrf: 'A'.repeat(token.length) }, {}],
      [{ name: 'fraud', description: 'pwned', csrf: token }, { Origin: 'https://evil.example' }],
      [{ name: 'fraud', description: 'pwned', csrf: token }, { Origin: 'null' }],
      [{ name: 'fraud', description: 'pwned', csrf: token }, { Origin: '', 'Sec-Fetch-Site': 'cross-site' }],
    ];
    for (const [form, headers] of cases) {
      const hdrs = { ...headers };
      if (hdrs.Origin === '') delete hdrs.Origin;
      const r = await h.app.request('http://regate.test/ui/model/description', {
        method: 'POST', body: new URLSearchParams(form).toString(),
        headers: { Cookie: p.cookie!, 'Content-Type': 'application/x-www-form-urlencoded', ...hdrs },
      });
      expect(r.status, JSON.stringify([form, headers])).toBe(403);
      expect(await r.text()).toContain('nothing was changed');
    }
    const m = await h.expectOk('GET', '/api/2.0/mlflow/registered-models/get', { query: { name: 'fraud' } });
    expect(m.registered_model.description).toBe('first');
    const rows = await auditSince(before);
    expect(rows).toHaveLength(cases.length);
    for (const r of rows) expect(r).toMatchObject({ principal_id: owner.id, action: 'denied', status: 403 });
  });

  it('the form token is bound to the session: another user’s token does not work', async () => {
    const a = pageClient(h);
    await a.signIn(reader.token);
    const readerCsrf = await a.csrf();
    const b = pageClient(h);
    await b.signIn(owner.token);
    const r = await b.send('POST', '/ui/model/description', { form: { name: 'fraud', description: 'pwned', csrf: readerCsrf } });
    expect(r.status).toBe(403);
  });

  it('with the form token the owner saves the description', async () => {
    const p = pageClient(h);
    await p.signIn(owner.token);
    const r = await p.send('POST', '/ui/model/description', { form: { name: 'fraud', description: 'second', csrf: await p.csrf() } });
    expect(r.status).toBe(303);
    expect(r.location).toBe('/ui/model?name=fraud&done=description');
    const m = await h.expectOk('GET', '/api/2.0/mlflow/registered-models/get', { query: { name: 'fraud' } });
    expect(m.registered_model.description).toBe('second');
    await h.expectOk('PATCH', '/api/2.0/mlflow/registered-models/update', { body: { name: 'fraud', description: 'first' } });
  });
});

describe('a page refuses what the API refuses, and the refusal is audited', () => {
  it('a reader cannot save a description: 403 in the API’s words, nothing changed, one denial row', async () => {
    const p = pageClient(h);
    await p.signIn(reader.token);
    const page = await p.send('GET', '/ui/model?name=fraud');
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('Save description');
    const before = await lastAuditId();
    const r = await p.send('POST', '/ui/model/description', { form: { name: 'fraud', description: 'pwned', csrf: await p.csrf() } });
    expect(r.status).toBe(403);
    expect(r.text).toContain('User does not have permission to update the description');
    expect(r.text).not.toMatch(/at .*\.ts:\d+/);
    const rows = await auditSince(before);
    expect(rows).toEqual([expect.objectContaining({ principal_id: reader.id, action: 'denied', model_id: modelId, status: 403 })]);
  });

  it('a reader cannot open or save Permission Settings; an outsider does not see the model at all', async () => {
    const p = pageClient(h);
    await p.signIn(reader.token);
    const before = await lastAuditId();
    expect((await p.send('GET', '/ui/permissions?model=fraud')).status).toBe(403);
    const save = await p.send('POST', '/ui/permissions?model=fraud', { form: { csrf: await p.csrf(), intent: 'save', entry: JSON.stringify(['user', 'reader@x', 'CAN_MANAGE']) } });
    expect(save.status).toBe(403);
    expect((await p.send('GET', '/ui/permissions?registry=1')).status).toBe(403);
    const rows = await auditSince(before);
    expect(rows.filter((r) => r.action === 'denied' && r.principal_id === reader.id), JSON.stringify(rows)).toHaveLength(3);
    const acl = await h.expectOk('GET', `/api/2.0/permissions/registered-models/${modelId}`);
    expect(JSON.stringify(acl)).not.toContain('"user_name":"reader@x","display_name":"reader@x","all_permissions":[{"permission_level":"CAN_MANAGE"');

    const outsider = await h.user('outsider@x');
    const o = pageClient(h);
    await o.signIn(outsider.token);
    const list = await o.send('GET', '/ui/models');
    expect(list.text).not.toContain('fraud');
    const m = await o.send('GET', '/ui/model?name=fraud');
    expect(m.status).toBe(404);
    expect(m.text).toContain('Registered Model with name=fraud not found');
  });
});

describe('page flows', () => {
  it('the owner grants Can Read to a group through the dialog: Add, then Save applies it through the Permissions API', async () => {
    const member = await h.user('member@x');
    await h.group('analysts', [member.id]);
    const p = pageClient(h);
    await p.signIn(owner.token);
    const dlg = await p.send('GET', '/ui/permissions?model=fraud');
    expect(dlg.status).toBe(200);
    expect(dlg.text).toContain('Permission Settings: fraud');
    expect(dlg.text).toMatch(/admins<\/td><td>Group<\/td><td>Can Manage<\/td><td>all registered models/);
    expect(dlg.text).not.toContain('aria-label="Remove admins"');
    // Only the grant levels are offered.
    expect(dlg.text).not.toContain('value="NO_PERMISSIONS"');
    const entries = [...dlg.text.matchAll(/name="entry" value="([^"]+)"/g)].map((m) => m[1]!.replace(/&quot;/g, '"'));
    const csrf = await p.csrf();
    const added = await p.send('POST', '/ui/permissions?model=fraud', {
      form: { csrf, entry: entries, intent: 'add', principal: JSON.stringify(['group', 'analysts']), level: 'CAN_READ' },
    });
    expect(added.status).toBe(200);
    expect(added.text).toContain('Unsaved changes');
    let acl = await h.expectOk('GET', `/api/2.0/permissions/registered-models/${modelId}`);
    expect(JSON.stringify(acl)).not.toContain('analysts');
    const pending = [...added.text.matchAll(/name="entry" value="([^"]+)"/g)].map((m) => m[1]!.replace(/&quot;/g, '"'));
    const before = await lastAuditId();
    const saved = await p.send('POST', '/ui/permissions?model=fraud', { form: { csrf, entry: pending, intent: 'save' } });
    expect(saved.status).toBe(303);
    acl = await h.expectOk('GET', `/api/2.0/permissions/registered-models/${modelId}`);
    expect(acl.access_control_list).toContainEqual({ group_name: 'analysts', all_permissions: [{ permission_level: 'CAN_READ', inherited: false }] });
    expect(JSON.stringify(acl)).toContain('reader@x');
    const rows = await auditSince(before);
    expect(rows).toEqual([expect.objectContaining({ action: 'grant_change', principal_id: owner.id, model_id: modelId })]);

    const m = pageClient(h);
    await m.signIn(member.token);
    expect((await m.send('GET', '/ui/models')).text).toContain('href="/ui/model?name=fraud"');
  });

  it('approve shows only for a level that passes the stage rule; a reader requests, a production manager approves', async () => {
    const r = pageClient(h);
    await r.signIn(reader.token);
    const req = await r.send('POST', '/ui/model/request', { form: { csrf: await r.csrf(), name: 'fraud', version: '1', stage: 'Production', comment: 'ship it' } });
    expect(req.status).toBe(303);
    const asReader = await r.send('GET', '/ui/model?name=fraud');
    expect(asReader.text).toContain('Cancel request');
    expect(asReader.text).not.toContain('>Approve<');

    const s = pageClient(h);
    await s.signIn(staging.token);
    const asStaging = await s.send('GET', '/ui/model?name=fraud');
    expect(asStaging.text).toContain('None → Production');
    expect(asStaging.text).not.toContain('>Approve<');
    // And posting the approval anyway is refused by the API's stage rule.
    const forced = await s.send('POST', '/ui/model/decide', { form: { csrf: await s.csrf(), name: 'fraud', version: '1', stage: 'Production', decision: 'approve', creator: 'reader@x' } });
    expect(forced.status).toBe(403);

    const p = pageClient(h);
    await p.signIn(prod.token);
    const asProd = await p.send('GET', '/ui/model?name=fraud');
    expect(asProd.text).toContain('>Approve<');
    const ok = await p.send('POST', '/ui/model/decide', { form: { csrf: await p.csrf(), name: 'fraud', version: '1', stage: 'Production', decision: 'approve', creator: 'reader@x' } });
    expect(ok.status).toBe(303);
    const after = await p.send('GET', '/ui/model?name=fraud');
    expect(after.text).toContain('prod@x approved the transition of version 1: None → Production');
    expect(after.text).toContain('reader@x requested a transition of version 1: None → Production');
    expect(after.text).toContain('models:/fraud/Production');
  });

  it('the registry-wide dialog: inherited creators and built-in admins are not removable; a grant of CAN_MANAGE there opens it to its holder', async () => {
    const a = pageClient(h);
    await a.signIn(h.adminToken);
    const dlg = await a.send('GET', '/ui/permissions?registry=1');
    expect(dlg.status).toBe(200);
    expect(dlg.text).toContain('Permission Settings: all registered models');
    expect(dlg.text).toMatch(/users<\/td><td>Group<\/td><td>Can Create Registered Model<\/td><td>workspace setting REGATE_MODEL_CREATORS/);
    expect(dlg.text).toMatch(/admins<\/td><td>Group<\/td><td>Can Manage<\/td><td>built in: workspace admins/);
    expect(dlg.text).not.toContain('aria-label="Remove admins"');
    expect(dlg.text).not.toContain('aria-label="Remove users"');
    const saved = await a.send('POST', '/ui/permissions?registry=1', { form: { csrf: await a.csrf(), intent: 'save', entry: JSON.stringify(['user', 'staging@x', 'CAN_MANAGE']) } });
    expect(saved.status).toBe(303);
    const s = pageClient(h);
    await s.signIn(staging.token);
    expect((await s.send('GET', '/ui/models')).text).toContain('href="/ui/permissions?registry=1"');
    expect((await s.send('GET', '/ui/permissions?registry=1')).status).toBe(200);
    await a.send('POST', '/ui/permissions?registry=1', { form: { csrf: await a.csrf(), intent: 'save' } });
    expect((await s.send('GET', '/ui/permissions?registry=1')).status).toBe(403);
  });

  it('Add without a choice says so in words and keeps the pending list', async () => {
    const p = pageClient(h);
    await p.signIn(owner.token);
    const entry = JSON.stringify(['user', 'reader@x', 'CAN_EDIT']);
    const r = await p.send('POST', '/ui/permissions?model=fraud', { form: { csrf: await p.csrf(), intent: 'add', principal: '', level: 'CAN_READ', entry } });
    expect(r.status).toBe(400);
    expect(r.text).toContain('Choose a user, group or service principal and a permission');
    expect(r.text).toContain('aria-label="Remove reader@x"');
    const bad = await p.send('POST', '/ui/permissions?model=fraud', { form: { csrf: await p.csrf(), intent: 'add', principal: JSON.stringify(['group', 'analysts']), level: 'CAN_CREATE_REGISTERED_MODEL' } });
    expect(bad.status).toBe(400);
  });

  it('the registry-wide Permissions button: admins yes, a model owner no', async () => {
    const a = pageClient(h);
    await a.signIn(h.adminToken);
    expect((await a.send('GET', '/ui/models')).text).toContain('href="/ui/permissions?registry=1"');
    const o = pageClient(h);
    await o.signIn(owner.token);
    expect((await o.send('GET', '/ui/models')).text).not.toContain('registry=1');
  });
});
