/**
 * @module webhooks.test
 * Registry webhooks through HTTP, in process: Databricks' field names, who may create, see, change, delete and
 * test which webhook, the refusals (job_spec, bad events and statuses, SSRF-refused URLs), that a refusal changes
 * nothing, and the outbox rows each registry change writes in its own batch (none for a refused change, none for
 * TEST_MODE or DISABLED webhooks, none for other models). Delivery itself: test/node/webhooks-delivery.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TEST_ENV, makeHarness, T0, type Harness, type Identity } from '../helpers/harness.ts';
import { expectError, registry } from '../helpers/registry.ts';

const WH = '/api/2.0/mlflow/registry-webhooks';
const URL_OK = 'https://hooks.example.com/regate';

let h: Harness;
let r: ReturnType<typeof registry>;
let owner: Identity; // CAN_MANAGE on m (created it)
let editor: Identity; // CAN_EDIT on m
let reader: Identity; // CAN_READ on m
let stranger: Identity; // nothing

beforeEach(async () => {
  h = await makeHarness({ env: DEFAULT_TEST_ENV });
  r = registry(h);
  owner = await h.user('owner@x');
  editor = await h.user('editor@x');
  reader = await h.user('reader@x');
  stranger = await h.user('stranger@x');
  await r.createModel('m', owner.token);
  await r.createModel('other', owner.token);
  await r.grant('m', 'editor@x', 'CAN_EDIT');
  await r.grant('m', 'reader@x', 'CAN_READ');
});

const create = (token: string, body: Record<string, unknown>) => h.call('POST', `${WH}/create`, { token, body });
const spec = (extra: Record<string, unknown> = {}) => ({ url: URL_OK, ...extra });
const webhookRows = () => r.count('webhooks');
const outbox = async () =>
  h.db.prepare('SELECT webhook_id, event, model_id, payload FROM webhook_outbox ORDER BY event').all<{ webhook_id: string; event: string; model_id: string; payload: string }>();

describe('create and read back', () => {
  it('answers a RegistryWebhook with Databricks field names and never shows the secret or authorization', async () => {
    h.clock.advance(7);
    const res = await create(owner.token, {
      model_name: 'm',
      events: ['MODEL_VERSION_CREATED', 'COMMENT_CREATED', 'MODEL_VERSION_CREATED'],
      description: 'to the fleet',
      http_url_spec: spec({ secret: 'top-secret-value', authorization: 'Bearer receiver-token', enable_ssl_verification: false }),
    });
    expect(res.status).toBe(200);
    const w = res.json.webhook;
    expect(w).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      events: ['MODEL_VERSION_CREATED', 'COMMENT_CREATED'],
      status: 'ACTIVE',
      creation_timestamp: T0 + 7,
      last_updated_timestamp: T0 + 7,
      http_url_spec: { url: URL_OK, enable_ssl_verification: false },
      model_name: 'm',
      description: 'to the fleet',
    });
    const listed = await h.call('GET', `${WH}/list`, { token: owner.token });
    expect(listed.json).toEqual({ webhooks: [w] });
    for (const text of [res.text, listed.text]) {
      expect(text).not.toContain('top-secret-value');
      expect(text).not.toContain('receiver-token');
    }
  });

  it('a registry-wide webhook (no model_name) is for admins; it may listen to REGISTERED_MODEL_CREATED', async () => {
    const res = await create(h.adminToken, { events: ['REGISTERED_MODEL_CREATED'], http_url_spec: spec(), status: 'TEST_MODE' });
    expect(res.status).toBe(200);
    expect(res.json.webhook.model_name).toBeUndefined();
    expect(res.json.webhook.status).toBe('TEST_MODE');
  });

  it('renaming the model keeps its webhooks, shown under the new name', async () => {
    const w = (await create(owner.token, { model_name: 'm', events: ['COMMENT_CREATED'], http_url_spec: spec() })).json.webhook;
    await h.expectOk('POST', '/api/2.0/mlflow/registered-models/rename', { token: owner.token, body: { name: 'm', new_name: 'm2' } });
    const listed = await h.expectOk('GET', `${WH}/list`, { token: owner.token });
    expect(listed.webhooks.map((x: { id: string; model_name: string }) => [x.id, x.model_name])).toEqual([[w.id, 'm2']]);
  });

  it('deleting the model deletes its webhooks', async () => {
    await create(owner.token, { model_name: 'm', events: ['COMMENT_CREATED'], http_url_spec: spec() });
    await h.expectOk('DELETE', '/api/2.0/mlflow/registered-models/delete', { token: owner.token, body: { name: 'm' } });
    expect(await webhookRows()).toBe(0);
  });
});

describe('refusals change nothing', () => {
  const cases: Array<[string, Record<string, unknown>, number, string, RegExp]> = [
    ['job_spec', { model_name: 'm', events: ['COMMENT_CREATED'], job_spec: { job_id: '1', access_token: 'dapi0' } }, 400, 'INVALID_PARAMETER_VALUE', /job_spec webhooks are not supported/],
    ['no http_url_spec', { model_name: 'm', events: ['COMMENT_CREATED'] }, 400, 'INVALID_PARAMETER_VALUE', /http_url_spec/],
    ['no events', { model_name: 'm', events: [], http_url_spec: { url: URL_OK } }, 400, 'INVALID_PARAMETER_VALUE', /events/],
    ['unknown event', { model_name: 'm', events: ['MODEL_DELETED'], http_url_spec: { url: URL_OK } }, 400, 'INVALID_PARAMETER_VALUE', /Invalid webhook event/],
    ['bad status', { model_name: 'm', events: ['COMMENT_CREATED'], status: 'PAUSED', http_url_spec: { url: URL_OK } }, 400, 'INVALID_PARAMETER_VALUE', /status/],
    ['model-level REGISTERED_MODEL_CREATED', { model_name: 'm', events: ['REGISTERED_MODEL_CREATED'], http_url_spec: { url: URL_OK } }, 400, 'INVALID_PARAMETER_VALUE', /registry-wide/],
    ['plain http', { model_name: 'm', events: ['COMMENT_CREATED'], http_url_spec: { url: 'http://hooks.example.com/' } }, 400, 'INVALID_PARAMETER_VALUE', /https/],
    ['credentials in the URL', { model_name: 'm', events: ['COMMENT_CREATED'], http_url_spec: { url: 'https://u:p@hooks.example.com/' } }, 400, 'INVALID_PARAMETER_VALUE', /credentials/],
    ['header injection', { model_name: 'm', events: ['COMMENT_CREATED'], http_url_spec: { url: URL_OK, authorization: 'Bearer x\r\nX-Evil: 1' } }, 400, 'INVALID_PARAMETER_VALUE', /authorization/],
    ['missing model', { model_name: 'nope', events: ['COMMENT_CREATED'], http_url_spec: { url: URL_OK } }, 404, 'RESOURCE_DOES_NOT_EXIST', /nope/],
  ];
  it.each(cases)('%s', async (_what, body, status, code, message) => {
    expectError(await create(owner.token, body), status, code, message);
    expect(await webhookRows()).toBe(0);
  });

  it.each([
    ['loopback', 'https://127.0.0.1/'],
    ['loopback (other /8 address)', 'https://127.3.2.1:8443/'],
    ['loopback (decimal form)', 'https://2130706433/'],
    ['loopback IPv6', 'https://[::1]/'],
    ['loopback name', 'https://localhost:9000/'],
    ['loopback subdomain name', 'https://api.localhost/'],
    ['private 10/8', 'https://10.0.0.7/'],
    ['private 172.16/12', 'https://172.20.1.1/'],
    ['private 192.168/16', 'https://192.168.1.1/'],
    ['link-local (cloud metadata)', 'https://169.254.169.254/latest/meta-data'],
    ['link-local IPv6', 'https://[fe80::1]/'],
    ['unique-local IPv6', 'https://[fd00::1]/'],
    ['multicast', 'https://224.0.0.1/'],
    ['multicast IPv6', 'https://[ff02::1]/'],
    ['unspecified', 'https://0.0.0.0/'],
    ['unspecified IPv6', 'https://[::]/'],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/'],
    ['IPv4-mapped private', 'https://[::ffff:10.1.2.3]/'],
    ['NAT64 of loopback', 'https://[64:ff9b::7f00:1]/'],
  ])('a %s URL is refused at create and at update', async (_what, url) => {
    expectError(await create(owner.token, { model_name: 'm', events: ['COMMENT_CREATED'], http_url_spec: { url } }), 400, 'INVALID_PARAMETER_VALUE', /REGATE_WEBHOOK_ALLOW_HOSTS/);
    expect(await webhookRows()).toBe(0);
    const w = (await create(owner.token, { model_name: 'm', events: ['COMMENT_CREATED'], http_url_spec: spec() })).json.webhook;
    expectError(await h.call('PATCH', `${WH}/update`, { token: owner.token, body: { id: w.id, http_url_spec: { url } } }), 400, 'INVALID_PARAMETER_VALUE');
    const row = await h.db.prepare('SELECT url FROM webhooks WHERE id = ?').bind(w.id).first<{ url: string }>();
    expect(row!.url).toBe(URL_OK);
  });
});

describe('permissions follow Databricks', () => {
  it('model-level webhooks need CAN_MANAGE: CAN_EDIT and CAN_READ get 403, no access gets the missing-model answer', async () => {
    const body = { model_name: 'm', events: ['COMMENT_CREATED'], http_url_spec: spec() };
    expectError(await create(editor.token, body), 403, 'PERMISSION_DENIED', /CAN_MANAGE; caller's level: CAN_EDIT/);
    expectError(await create(reader.token, body), 403, 'PERMISSION_DENIED', /CAN_MANAGE/);
    expectError(await create(stranger.token, body), 404, 'RESOURCE_DOES_NOT_EXIST', 'Registered Model with name=m not found');
    expect(await webhookRows()).toBe(0);
    // Every refusal is in the audit trail.
    await h.deps.audit.flush();
    expect(await r.count(`audit WHERE action = 'denied' AND detail LIKE 'manage_webhooks%'`)).toBe(3);
  });

  it('registry-wide webhooks need an admin', async () => {
    expectError(await create(owner.token, { events: ['MODEL_VERSION_CREATED'], http_url_spec: spec() }), 403, 'PERMISSION_DENIED', /admins/);
    expect(await webhookRows()).toBe(0);
  });

  it('a CAN_MANAGE grant through a group is enough', async () => {
    const g = await h.group('managers', [editor.id]);
    const id = await r.modelId('m');
    await h.expectOk('PATCH', `/api/2.0/permissions/registered-models/${id}`, { body: { access_control_list: [{ group_name: g.name, permission_level: 'CAN_MANAGE' }] } });
    expect((await create(editor.token, { model_name: 'm', events: ['COMMENT_CREATED'], http_url_spec: spec() })).status).toBe(200);
  });

  it('list shows each caller only the webhooks it may manage', async () => {
    const onM = (await create(owner.token, { model_name: 'm', events: ['COMMENT_CREATED'], http_url_spec: spec() })).json.webhook;
    const onOther = (await create(owner.token, { model_name: 'other', events: ['COMMENT_CREATED'], http_url_spec: spec() })).json.webhook;
    const wide = (await create(h.adminToken, { events: ['REGISTERED_MODEL_CREATED'], http_url_spec: spec() })).json.webhook;
    const ids = async (token: string, query: Record<string, string | string[]> = {}) =>
      ((await h.expectOk('GET', `${WH}/list`, { token, query })).webhooks ?? []).map((w: { id: string }) => w.id).sort();
    expect(await ids(h.adminToken)).toEqual([onM.id, onOther.id, wide.id].sort());
    expect(await ids(owner.token)).toEqual([onM.id, onOther.id].sort());
    expect(await ids(editor.token)).toEqual([]);
    expect(await ids(stranger.token)).toEqual([]);
    await r.grant('other', 'editor@x', 'CAN_MANAGE');
    expect(await ids(editor.token)).toEqual([onOther.id]);
    // Filtering by model needs CAN_MANAGE on it, and by events keeps those with any of them.
    expectError(await h.call('GET', `${WH}/list`, { token: reader.token, query: { model_name: 'm' } }), 403, 'PERMISSION_DENIED');
    expectError(await h.call('GET', `${WH}/list`, { token: stranger.token, query: { model_name: 'm' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expect(await ids(owner.token, { model_name: 'm' })).toEqual([onM.id]);
    expect(await ids(h.adminToken, { events: ['REGISTERED_MODEL_CREATED', 'MODEL_VERSION_TAG_SET'] })).toEqual([wide.id]);
  });

  it('list: CAN_MANAGE on all registered models (root) shows the webhooks of every model, never registry-wide ones', async () => {
    const onM = (await create(owner.token, { model_name: 'm', events: ['COMMENT_CREATED'], http_url_spec: spec() })).json.webhook;
    const onOther = (await create(owner.token, { model_name: 'other', events: ['COMMENT_CREATED'], http_url_spec: spec() })).json.webhook;
    await create(h.adminToken, { events: ['REGISTERED_MODEL_CREATED'], http_url_spec: spec() });
    const ids = async (token: string) => ((await h.expectOk('GET', `${WH}/list`, { token })).webhooks ?? []).map((w: { id: string }) => w.id).sort();
    const onRoot = (level: string) =>
      h.expectOk('PATCH', '/api/2.0/permissions/registered-models/root', { body: { access_control_list: [{ user_name: 'stranger@x', permission_level: level }] } });
    await onRoot('CAN_EDIT');
    expect(await ids(stranger.token)).toEqual([]);
    await onRoot('CAN_MANAGE');
    expect(await ids(stranger.token)).toEqual([onM.id, onOther.id].sort());
  });

  it('update, delete and test of a webhook the caller may not manage are refused and change nothing', async () => {
    const w = (await create(owner.token, { model_name: 'm', events: ['COMMENT_CREATED'], http_url_spec: spec() })).json.webhook;
    const wide = (await create(h.adminToken, { events: ['MODEL_VERSION_CREATED'], http_url_spec: spec() })).json.webhook;
    const before = await h.db.prepare('SELECT * FROM webhooks ORDER BY id').all();
    expectError(await h.call('PATCH', `${WH}/update`, { token: reader.token, body: { id: w.id, status: 'DISABLED' } }), 403, 'PERMISSION_DENIED');
    expectError(await h.call('PATCH', `${WH}/update`, { token: stranger.token, body: { id: w.id, status: 'DISABLED' } }), 404, 'RESOURCE_DOES_NOT_EXIST', `Webhook with id '${w.id}' does not exist.`);
    expectError(await h.call('DELETE', `${WH}/delete`, { token: editor.token, query: { id: w.id } }), 403, 'PERMISSION_DENIED');
    expectError(await h.call('POST', `${WH}/test`, { token: editor.token, body: { id: w.id } }), 403, 'PERMISSION_DENIED');
    expectError(await h.call('DELETE', `${WH}/delete`, { token: owner.token, query: { id: wide.id } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectError(await h.call('PATCH', `${WH}/update`, { token: owner.token, body: { id: 'f'.repeat(32), status: 'DISABLED' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expect(await h.db.prepare('SELECT * FROM webhooks ORDER BY id').all()).toEqual(before);
  });
});

describe('update, delete, list paging', () => {
  it('update replaces what is given; a new http_url_spec drops the old secret and authorization', async () => {
    const w = (await create(owner.token, { model_name: 'm', events: ['COMMENT_CREATED'], http_url_spec: spec({ secret: 's1', authorization: 'Bearer a' }) })).json.webhook;
    h.clock.advance(100);
    const u = await h.expectOk('PATCH', `${WH}/update`, { token: owner.token, body: { id: w.id, status: 'DISABLED', description: 'paused' } });
    expect(u.webhook).toMatchObject({ id: w.id, status: 'DISABLED', description: 'paused', events: ['COMMENT_CREATED'], last_updated_timestamp: T0 + 100, creation_timestamp: T0 });
    let row = await h.db.prepare('SELECT secret, auth_header FROM webhooks WHERE id = ?').bind(w.id).first();
    expect(row).toEqual({ secret: 's1', auth_header: 'Bearer a' });
    const u2 = await h.expectOk('PATCH', `${WH}/update`, { token: owner.token, body: { id: w.id, events: ['MODEL_VERSION_TAG_SET'], http_url_spec: { url: 'https://elsewhere.example.com/' } } });
    expect(u2.webhook).toMatchObject({ events: ['MODEL_VERSION_TAG_SET'], http_url_spec: { url: 'https://elsewhere.example.com/', enable_ssl_verification: true }, status: 'DISABLED' });
    row = await h.db.prepare('SELECT secret, auth_header FROM webhooks WHERE id = ?').bind(w.id).first();
    expect(row).toEqual({ secret: '', auth_header: '' });
    expectError(await h.call('PATCH', `${WH}/update`, { token: owner.token, body: { id: w.id, job_spec: { job_id: '1' } } }), 400, 'INVALID_PARAMETER_VALUE', /job_spec/);
  });

  it('delete removes the webhook and the deliveries still waiting for it', async () => {
    const w = (await create(owner.token, { model_name: 'm', events: ['MODEL_VERSION_CREATED'], http_url_spec: spec() })).json.webhook;
    await r.createVersion('m', undefined, {}, owner.token);
    expect((await outbox()).length).toBe(1);
    expect(await h.expectOk('DELETE', `${WH}/delete`, { token: owner.token, query: { id: w.id } })).toEqual({});
    expect(await webhookRows()).toBe(0);
    expect((await outbox()).length).toBe(0);
    expectError(await h.call('DELETE', `${WH}/delete`, { token: owner.token, query: { id: w.id } }), 404, 'RESOURCE_DOES_NOT_EXIST');
  });

  it('pages with max_results and next_page_token', async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await create(owner.token, { model_name: 'm', events: ['COMMENT_CREATED'], http_url_spec: spec() })).json.webhook.id);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await h.expectOk('GET', `${WH}/list`, { token: owner.token, query: { max_results: '2', ...(token ? { page_token: token } : {}) } });
      seen.push(...page.webhooks.map((w: { id: string }) => w.id));
      token = page.next_page_token;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toEqual([...made].sort());
    expectError(await h.call('GET', `${WH}/list`, { token: owner.token, query: { page_token: 'zz' } }), 400, 'INVALID_PARAMETER_VALUE');
  });
});

describe('the outbox is written in the batch of the event', () => {
  it('each event writes one row per listening ACTIVE webhook, with Databricks payload fields', async () => {
    const all = ['MODEL_VERSION_CREATED', 'MODEL_VERSION_TRANSITIONED_STAGE', 'MODEL_VERSION_TRANSITIONED_TO_PRODUCTION', 'MODEL_VERSION_TRANSITIONED_TO_STAGING',
      'TRANSITION_REQUEST_CREATED', 'TRANSITION_REQUEST_TO_PRODUCTION_CREATED', 'COMMENT_CREATED', 'MODEL_VERSION_TAG_SET'];
    const w = (await create(owner.token, { model_name: 'm', events: all, http_url_spec: spec() })).json.webhook;
    const wide = (await create(h.adminToken, { events: ['REGISTERED_MODEL_CREATED', 'MODEL_VERSION_CREATED'], http_url_spec: spec() })).json.webhook;
    await create(owner.token, { model_name: 'm', events: all, http_url_spec: spec(), status: 'TEST_MODE' });
    await create(owner.token, { model_name: 'm', events: all, http_url_spec: spec(), status: 'DISABLED' });
    await create(owner.token, { model_name: 'other', events: all, http_url_spec: spec() });
    h.clock.advance(1);
    await r.createVersion('m', undefined, {}, owner.token);
    await r.createVersion('m', undefined, {}, owner.token);
    await h.expectOk('POST', '/api/2.0/mlflow/transition-requests/create', { token: reader.token, body: { name: 'm', version: '2', stage: 'Production' } });
    await h.expectOk('POST', '/api/2.0/mlflow/comments/create', { token: reader.token, body: { name: 'm', version: '2', comment: 'looks good' } });
    await h.expectOk('POST', '/api/2.0/mlflow/model-versions/set-tag', { token: editor.token, body: { name: 'm', version: '2', key: 'k', value: 'v' } });
    await h.expectOk('POST', '/api/2.0/mlflow/databricks/model-versions/transition-stage', { token: owner.token, body: { name: 'm', version: '2', stage: 'Production', archive_existing_versions: false } });
    await r.createModel('brand-new', owner.token);
    const rows = await outbox();
    const mine = rows.filter((x) => x.webhook_id === w.id).map((x) => [x.event, JSON.parse(x.payload)]);
    const at = T0 + 1;
    expect(mine).toEqual([
      ['COMMENT_CREATED', { event_timestamp: at, model_name: 'm', version: '2', comment: 'looks good', text: "A user commented on registered model 'm' version 2." }],
      ['MODEL_VERSION_CREATED', { event_timestamp: at, model_name: 'm', version: '1', text: "A new version 1 of registered model 'm' was created." }],
      ['MODEL_VERSION_CREATED', { event_timestamp: at, model_name: 'm', version: '2', text: "A new version 2 of registered model 'm' was created." }],
      ['MODEL_VERSION_TAG_SET', { event_timestamp: at, model_name: 'm', version: '2', tags: [{ key: 'k', value: 'v' }], text: "A user set version tag(s) 'k' => 'v' for registered model 'm' version 2." }],
      ...['MODEL_VERSION_TRANSITIONED_STAGE', 'MODEL_VERSION_TRANSITIONED_TO_PRODUCTION'].map((e) => [e, { event_timestamp: at, model_name: 'm', version: '2', to_stage: 'Production', from_stage: 'None', text: "Registered model 'm' version 2 transitioned from None to Production." }]),
      ...['TRANSITION_REQUEST_CREATED', 'TRANSITION_REQUEST_TO_PRODUCTION_CREATED'].map((e) => [e, { event_timestamp: at, model_name: 'm', version: '2', to_stage: 'Production', from_stage: 'None', text: "A user requested to transition registered model 'm' version 2 from None to Production." }]),
    ]);
    // The registry-wide webhook heard both versions and the new model, and nothing else; no other webhook heard anything.
    expect(rows.filter((x) => x.webhook_id === wide.id).map((x) => [x.event, JSON.parse(x.payload).model_name, JSON.parse(x.payload).version])).toEqual([
      ['MODEL_VERSION_CREATED', 'm', '1'],
      ['MODEL_VERSION_CREATED', 'm', '2'],
      ['REGISTERED_MODEL_CREATED', 'brand-new', undefined],
    ]);
    expect(rows.length).toBe(mine.length + 3);
  });

  it('archive_existing_versions fires a transition event for each archived version', async () => {
    const w = (await create(owner.token, { model_name: 'm', events: ['MODEL_VERSION_TRANSITIONED_TO_ARCHIVED'], http_url_spec: spec() })).json.webhook;
    await r.createVersion('m', undefined, {}, owner.token);
    await r.createVersion('m', undefined, {}, owner.token);
    await r.transition('m', '1', 'Production');
    await r.transition('m', '2', 'Production', true);
    const rows = (await outbox()).filter((x) => x.webhook_id === w.id).map((x) => JSON.parse(x.payload));
    expect(rows).toEqual([expect.objectContaining({ version: '1', from_stage: 'Production', to_stage: 'Archived' })]);
  });

  it('a refused or failed change writes no outbox row', async () => {
    await create(owner.token, { model_name: 'm', events: ['MODEL_VERSION_TRANSITIONED_STAGE', 'COMMENT_CREATED', 'MODEL_VERSION_TAG_SET', 'MODEL_VERSION_CREATED', 'TRANSITION_REQUEST_CREATED'], http_url_spec: spec() });
    await r.createVersion('m', undefined, {}, owner.token);
    await h.db.prepare('DELETE FROM webhook_outbox').run();
    const tr = '/api/2.0/mlflow/databricks/model-versions/transition-stage';
    expectError(await h.call('POST', tr, { token: reader.token, body: { name: 'm', version: '1', stage: 'Production', archive_existing_versions: false } }), 403, 'PERMISSION_DENIED');
    expectError(await h.call('POST', tr, { token: stranger.token, body: { name: 'm', version: '1', stage: 'Production', archive_existing_versions: false } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectError(await h.call('POST', '/api/2.0/mlflow/comments/create', { token: stranger.token, body: { name: 'm', version: '1', comment: 'x' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectError(await h.call('POST', '/api/2.0/mlflow/model-versions/set-tag', { token: reader.token, body: { name: 'm', version: '1', key: 'k', value: 'v' } }), 403, 'PERMISSION_DENIED');
    expectError(await h.call('POST', '/api/2.0/mlflow/model-versions/create', { token: reader.token, body: { name: 'm', source: 's3://bucket/x' } }), 403, 'PERMISSION_DENIED');
    expectError(await h.call('POST', '/api/2.0/mlflow/transition-requests/create', { token: reader.token, body: { name: 'm', version: '1', stage: 'None' } }), 400, 'INVALID_PARAMETER_VALUE');
    expect(await outbox()).toEqual([]);
  });
});
