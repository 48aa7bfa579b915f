/**
 * @module webhooks-delivery.test
 * Webhook delivery end to end on Node: registry changes through HTTP (in process), the Node runner's
 * `runOnce` (the portable deliverDue over the DNS-checked Node transport), and a real receiver on a loopback
 * socket, allow-listed for the test with REGATE_WEBHOOK_ALLOW_HOSTS. Checks the signature, retries with backoff
 * on the injected clock after receiver failures, the time and size limits with manual timers, redirects not
 * followed, nothing sent for refused requests, TEST_MODE only through /test, DISABLED never, the owner's access
 * checked at delivery time, and the SSRF guard after DNS resolution for every refused address class.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TEST_ENV, makeHarness, T0, type Harness, type Identity } from '../helpers/harness.ts';
import { expectError, registry } from '../helpers/registry.ts';
import { manualTimers, type ManualTimers } from '../helpers/manual-timers.ts';
import { startNodeWebhooks, type NodeWebhooks } from '../../src/runtime/node-webhooks.ts';
import { nodeWebhookTransport, type Resolver } from '../../src/runtime/node-webhook-transport.ts';
import { parseAllowList } from '../../src/core/webhooks/address-policy.ts';
import { DeliveryError } from '../../src/core/webhooks/transport.ts';
import { systemTimers } from '../../src/core/timers.ts';

const WH = '/api/2.0/mlflow/registry-webhooks';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  url: string;
}

/** A real HTTP receiver on 127.0.0.1; `answer` decides each response (default 200 "ok"). */
async function receiver() {
  const got: Received[] = [];
  const waiting: Array<() => void> = [];
  let answer: (n: number, res: import('node:http').ServerResponse) => void = (_n, res) => res.end('ok');
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(parts).toString('utf8'), url: req.url ?? '' });
      for (const w of waiting.splice(0)) w();
      answer(got.length, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    got,
    url: `http://127.0.0.1:${port}/hook`,
    port,
    /** Resolves once `n` requests have arrived. */
    received(n: number): Promise<void> {
      return got.length >= n ? Promise.resolve() : new Promise<void>((r) => waiting.push(() => void this.received(n).then(r)));
    },
    setAnswer(f: typeof answer) {
      answer = f;
    },
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

type Receiver = Awaited<ReturnType<typeof receiver>>;

let h: Harness;
let r: ReturnType<typeof registry>;
let rx: Receiver;
let nw: NodeWebhooks;
let timers: ManualTimers | undefined;
let owner: Identity;
let reader: Identity;
const closers: Array<() => Promise<void>> = [];

async function setup(env: Record<string, string> = {}, opts: { manual?: boolean; resolver?: Resolver } = {}) {
  h = await makeHarness({ env: { ...DEFAULT_TEST_ENV, REGATE_WEBHOOK_ALLOW_HOSTS: '127.0.0.1', ...env } });
  r = registry(h);
  rx = await receiver();
  closers.push(rx.close);
  timers = opts.manual ? manualTimers() : undefined;
  nw = startNodeWebhooks(h.deps, { REGATE_WEBHOOK_ALLOW_HOSTS: '127.0.0.1', ...env }, {
    poll: false,
    timers: timers ?? systemTimers,
    ...(opts.resolver ? { resolver: opts.resolver } : {}),
  });
  h.deps.webhooks = nw.runtime;
  owner = await h.user('owner@x');
  reader = await h.user('reader@x');
  await r.createModel('m', owner.token);
  await r.grant('m', 'reader@x', 'CAN_READ');
}

afterEach(async () => {
  nw?.stop();
  for (const c of closers.splice(0)) await c();
});

const createHook = async (body: Record<string, unknown>, token = owner.token) =>
  (await h.expectOk('POST', `${WH}/create`, { token, body: { model_name: 'm', ...body } })).webhook as { id: string };
const log = () => h.db.prepare('SELECT outbox_id, event, attempt, at, outcome, status_code, detail FROM webhook_deliveries ORDER BY id').all<Record<string, unknown>>();
const pending = () => h.db.prepare('SELECT attempts, next_attempt_at FROM webhook_outbox').all<{ attempts: number; next_attempt_at: number }>();
const hmac = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('hex');

describe('delivery to a real receiver', () => {
  beforeEach(() => setup());

  it('sends the Databricks payload, signed with HMAC-SHA256 of the body, with the authorization header', async () => {
    const w = await createHook({ events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: rx.url, secret: 'shh', authorization: 'Bearer rx-token' } });
    h.clock.advance(10);
    await r.createVersion('m', undefined, {}, owner.token);
    const s = await nw.runOnce();
    expect(s).toMatchObject({ claimed: 1, delivered: 1 });
    expect(rx.got).toHaveLength(1);
    const got = rx.got[0]!;
    expect(JSON.parse(got.body)).toEqual({
      event: 'MODEL_VERSION_CREATED',
      webhook_id: w.id,
      event_timestamp: T0 + 10,
      model_name: 'm',
      version: '1',
      text: "A new version 1 of registered model 'm' was created.",
    });
    expect(got.headers['x-databricks-signature']).toBe(hmac('shh', got.body));
    expect(got.headers['x-databricks-signature']).not.toBe(hmac('other', got.body));
    expect(got.headers.authorization).toBe('Bearer rx-token');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['x-regate-delivery']).toMatch(/^[0-9a-f]{32}$/);
    expect(await pending()).toEqual([]);
    expect(await log()).toEqual([expect.objectContaining({ event: 'MODEL_VERSION_CREATED', attempt: 1, outcome: 'delivered', status_code: 200, detail: '' })]);
    // Delivered once: another pass sends nothing.
    expect((await nw.runOnce()).claimed).toBe(0);
    expect(rx.got).toHaveLength(1);
  });

  it('without a secret there is no signature header', async () => {
    await createHook({ events: ['COMMENT_CREATED'], http_url_spec: { url: rx.url } });
    await h.expectOk('POST', '/api/2.0/mlflow/model-versions/create', { token: owner.token, body: { name: 'm', source: 's3://bucket/x' } });
    await h.expectOk('POST', '/api/2.0/mlflow/comments/create', { token: reader.token, body: { name: 'm', version: '1', comment: 'hi' } });
    await nw.runOnce();
    expect(rx.got).toHaveLength(1);
    expect(rx.got[0]!.headers['x-databricks-signature']).toBeUndefined();
    expect(JSON.parse(rx.got[0]!.body)).toMatchObject({ event: 'COMMENT_CREATED', comment: 'hi', version: '1' });
  });

  it('retries after receiver failures with exponential backoff, then delivers the same delivery id', async () => {
    rx.setAnswer((n, res) => {
      res.statusCode = n <= 2 ? 503 : 200;
      res.end(n <= 2 ? 'busy' : 'ok');
    });
    await createHook({ events: ['MODEL_VERSION_TAG_SET'], http_url_spec: { url: rx.url } });
    await r.createVersion('m', undefined, {}, owner.token);
    await h.expectOk('POST', '/api/2.0/mlflow/model-versions/set-tag', { token: owner.token, body: { name: 'm', version: '1', key: 'k', value: 'v' } });
    expect((await nw.runOnce()).retry).toBe(1);
    expect(await pending()).toEqual([{ attempts: 1, next_attempt_at: T0 + 30_000 }]);
    // Not due yet: nothing is claimed.
    h.clock.advance(29_999);
    expect((await nw.runOnce()).claimed).toBe(0);
    h.clock.advance(1);
    expect((await nw.runOnce()).retry).toBe(1);
    expect(await pending()).toEqual([{ attempts: 2, next_attempt_at: T0 + 30_000 + 60_000 }]);
    h.clock.advance(60_000);
    expect((await nw.runOnce()).delivered).toBe(1);
    expect(rx.got).toHaveLength(3);
    expect(new Set(rx.got.map((g) => g.headers['x-regate-delivery'])).size).toBe(1);
    expect((await log()).map((l) => [l.attempt, l.outcome, l.status_code, l.detail])).toEqual([
      [1, 'retry', 503, 'HTTP 503'],
      [2, 'retry', 503, 'HTTP 503'],
      [3, 'delivered', 200, ''],
    ]);
    expect(await pending()).toEqual([]);
  });

  it('a receiver that is down is retried as a network failure', async () => {
    await createHook({ events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: rx.url } });
    await rx.close();
    await r.createVersion('m', undefined, {}, owner.token);
    expect((await nw.runOnce()).retry).toBe(1);
    expect((await log())[0]).toMatchObject({ outcome: 'retry', status_code: null, detail: expect.stringMatching(/^network: /) });
  });

  it('a redirect is not followed: the 302 is a failed attempt and its target gets nothing', async () => {
    const target = await receiver();
    closers.push(target.close);
    rx.setAnswer((_n, res) => {
      res.statusCode = 302;
      res.setHeader('Location', target.url);
      res.end();
    });
    await createHook({ events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: rx.url } });
    await r.createVersion('m', undefined, {}, owner.token);
    expect((await nw.runOnce()).retry).toBe(1);
    expect(target.got).toHaveLength(0);
    expect((await log())[0]).toMatchObject({ outcome: 'retry', status_code: 302 });
  });

  it('nothing is sent for a refused request', async () => {
    await createHook({ events: ['MODEL_VERSION_TRANSITIONED_STAGE', 'COMMENT_CREATED', 'TRANSITION_REQUEST_CREATED'], http_url_spec: { url: rx.url } });
    await r.createVersion('m', undefined, {}, owner.token);
    const stranger = await h.user('stranger@x');
    expectError(await h.call('POST', '/api/2.0/mlflow/databricks/model-versions/transition-stage', { token: reader.token, body: { name: 'm', version: '1', stage: 'Production', archive_existing_versions: false } }), 403, 'PERMISSION_DENIED');
    expectError(await h.call('POST', '/api/2.0/mlflow/comments/create', { token: stranger.token, body: { name: 'm', version: '1', comment: 'x' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expectError(await h.call('POST', '/api/2.0/mlflow/transition-requests/create', { token: stranger.token, body: { name: 'm', version: '1', stage: 'Staging' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    expect((await nw.runOnce()).claimed).toBe(0);
    expect(rx.got).toHaveLength(0);
  });

  it('gives up after REGATE_WEBHOOK_MAX_ATTEMPTS and logs the delivery as failed', async () => {
    nw.stop();
    nw = startNodeWebhooks(h.deps, { REGATE_WEBHOOK_ALLOW_HOSTS: '127.0.0.1', REGATE_WEBHOOK_MAX_ATTEMPTS: '2', REGATE_WEBHOOK_RETRY_BASE_SECONDS: '5' }, { poll: false });
    h.deps.webhooks = nw.runtime;
    rx.setAnswer((_n, res) => {
      res.statusCode = 500;
      res.end();
    });
    await createHook({ events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: rx.url } });
    await r.createVersion('m', undefined, {}, owner.token);
    await nw.runOnce();
    h.clock.advance(5_000);
    expect((await nw.runOnce()).failed).toBe(1);
    h.clock.advance(3_600_000);
    expect((await nw.runOnce()).claimed).toBe(0);
    expect(rx.got).toHaveLength(2);
    expect((await log()).map((l) => l.outcome)).toEqual(['retry', 'failed']);
  });
});

describe('statuses, the test endpoint and the owner', () => {
  beforeEach(() => setup());

  it('TEST_MODE gets no event deliveries, only /test; DISABLED gets neither', async () => {
    const t = await createHook({ status: 'TEST_MODE', events: ['MODEL_VERSION_CREATED', 'COMMENT_CREATED'], http_url_spec: { url: rx.url, secret: 'k' } });
    const d = await createHook({ status: 'DISABLED', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: rx.url } });
    await r.createVersion('m', undefined, {}, owner.token);
    expect((await nw.runOnce()).claimed).toBe(0);
    expect(rx.got).toHaveLength(0);
    rx.setAnswer((_n, res) => {
      res.statusCode = 202;
      res.end('received');
    });
    const res = await h.expectOk('POST', `${WH}/test`, { token: owner.token, body: { id: t.id, event: 'COMMENT_CREATED' } });
    expect(res).toEqual({ status_code: 202, body: 'received', webhook: { status_code: 202, body: 'received' } });
    expect(rx.got).toHaveLength(1);
    const body = JSON.parse(rx.got[0]!.body);
    expect(body).toMatchObject({ event: 'COMMENT_CREATED', webhook_id: t.id, model_name: 'm', version: '1' });
    expect(rx.got[0]!.headers['x-databricks-signature']).toBe(hmac('k', rx.got[0]!.body));
    expectError(await h.call('POST', `${WH}/test`, { token: owner.token, body: { id: d.id } }), 400, 'INVALID_STATE', /DISABLED/);
    expectError(await h.call('POST', `${WH}/test`, { token: owner.token, body: { id: t.id, event: 'MODEL_VERSION_TAG_SET' } }), 400, 'INVALID_PARAMETER_VALUE');
    expect(rx.got).toHaveLength(1);
  });

  it('/test reads at most 64 KiB of the answer', async () => {
    rx.setAnswer((_n, res) => res.end('x'.repeat(1024 * 1024)));
    const t = await createHook({ events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: rx.url } });
    const res = await h.expectOk('POST', `${WH}/test`, { token: owner.token, body: { id: t.id } });
    expect(res.status_code).toBe(200);
    expect(res.body.length).toBe(64 * 1024);
  });

  it('a webhook whose owner lost read access (or was deactivated) delivers nothing', async () => {
    const mgr = await h.user('mgr@x');
    await r.grant('m', 'mgr@x', 'CAN_MANAGE');
    await createHook({ events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: rx.url } }, mgr.token);
    await r.createVersion('m', undefined, {}, owner.token);
    // The grant goes before the delivery runs.
    const id = await r.modelId('m');
    await h.expectOk('PUT', `/api/2.0/permissions/registered-models/${id}`, { body: { access_control_list: [{ user_name: 'owner@x', permission_level: 'CAN_MANAGE' }] } });
    expect((await nw.runOnce()).skipped).toBe(1);
    expect(rx.got).toHaveLength(0);
    expect((await log())[0]).toMatchObject({ outcome: 'skipped', detail: 'the webhook owner can no longer read the model' });
    // Deactivated owner.
    await r.grant('m', 'mgr@x', 'CAN_MANAGE');
    await r.createVersion('m', undefined, {}, owner.token);
    await h.expectOk('PATCH', `/api/2.0/preview/scim/v2/Users/${mgr.id}`, {
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] },
    });
    expect((await nw.runOnce()).skipped).toBe(1);
    expect(rx.got).toHaveLength(0);
    expect((await log())[1]).toMatchObject({ outcome: 'skipped', detail: 'the webhook owner is deactivated or deleted' });
  });

  it('a webhook disabled after the event was recorded does not send it', async () => {
    const w = await createHook({ events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: rx.url } });
    await r.createVersion('m', undefined, {}, owner.token);
    await h.expectOk('PATCH', `${WH}/update`, { token: owner.token, body: { id: w.id, status: 'DISABLED' } });
    expect((await nw.runOnce()).skipped).toBe(1);
    expect(rx.got).toHaveLength(0);
  });
});

describe('time limit (manual timers)', () => {
  beforeEach(() => setup({}, { manual: true }));

  it('a receiver that never answers is cut off after 10 s and retried', async () => {
    rx.setAnswer(() => {}); // never responds
    await createHook({ events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: rx.url } });
    await r.createVersion('m', undefined, {}, owner.token);
    const run = nw.runOnce();
    await timers!.armed(1);
    // Once the receiver has the request, let 10 s pass on the manual timers.
    await rx.received(1);
    expect(rx.got).toHaveLength(1);
    timers!.advance(9_999);
    expect(timers!.pending()).toBe(1);
    timers!.advance(1);
    expect((await run).retry).toBe(1);
    expect((await log())[0]).toMatchObject({ outcome: 'retry', detail: 'timeout: no complete answer within 10000 ms' });
  });
});

describe('SSRF guard after DNS resolution (Node transport)', () => {
  // Only loopback addresses here, so that even a broken guard would connect nowhere but this machine; every
  // other address class is checked on the same function (refusedAddress) in webhooks-address-policy.test.ts.
  const refusedClasses: Array<[string, string]> = [
    ['loopback', '127.0.0.1'],
    ['loopback (other)', '127.10.0.5'],
    ['IPv6 loopback', '::1'],
    ['IPv4-mapped loopback', '::ffff:127.0.0.1'],
  ];

  it.each(refusedClasses)('a name resolving to a %s address (%s) is refused before connecting', async (_what, address) => {
    const asked: string[] = [];
    const resolver: Resolver = (host, cb) => {
      asked.push(host);
      cb(null, [{ address, family: address.includes(':') ? 6 : 4 }]);
    };
    const t = nodeWebhookTransport(parseAllowList(''), systemTimers, resolver);
    const err = await t
      .send({ url: new URL('https://hooks.example.test/x'), headers: {}, body: '{}', verifyTls: true }, { timeoutMs: 5000, maxResponseBytes: 100 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).kind).toBe('refused');
    expect((err as DeliveryError).message).toContain(address);
    expect(asked).toEqual(['hooks.example.test']);
  });

  it('one refused address among several refuses the name', async () => {
    const resolver: Resolver = (_h, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]);
    const t = nodeWebhookTransport(parseAllowList('127.0.0.0/8'), systemTimers, resolver);
    const err = await t.send({ url: new URL('http://hooks.example.test/'), headers: {}, body: '', verifyTls: true }, { timeoutMs: 5000, maxResponseBytes: 100 }).catch((e: unknown) => e);
    expect((err as DeliveryError).kind).toBe('refused');
    expect((err as DeliveryError).message).toContain('::1 is a loopback address');
  });

  it('end to end: an allow-listed range lets a name through to the receiver; without it the delivery fails as refused', async () => {
    const resolver: Resolver = (_h, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }]);
    await setup({ REGATE_WEBHOOK_ALLOW_HOSTS: '127.0.0.0/8,hooks.example.test' }, { resolver });
    const hookUrl = `http://hooks.example.test:${rx.port}/hook`;
    await createHook({ events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: hookUrl } });
    await r.createVersion('m', undefined, {}, owner.token);
    expect((await nw.runOnce()).delivered).toBe(1);
    expect(rx.got).toHaveLength(1);
    expect(rx.got[0]!.headers.host).toBe(`hooks.example.test:${rx.port}`);
    // The operator narrows the allow-list: the host name is no longer listed, so https is required and the
    // resolved loopback address is refused at delivery time (nothing connects).
    nw.stop();
    nw = startNodeWebhooks(h.deps, { REGATE_WEBHOOK_ALLOW_HOSTS: '' }, { poll: false, resolver });
    h.deps.webhooks = nw.runtime;
    await h.db.prepare(`UPDATE webhooks SET url = ?`).bind(`https://hooks.example.test:${rx.port}/hook`).run();
    await r.createVersion('m', undefined, {}, owner.token);
    expect((await nw.runOnce()).failed).toBe(1);
    expect(rx.got).toHaveLength(1);
    expect((await log())[1]).toMatchObject({ outcome: 'failed', detail: expect.stringMatching(/^refused: hooks.example.test resolves to 127.0.0.1 is a loopback address/) });
  });
});
