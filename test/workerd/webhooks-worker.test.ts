/**
 * @module webhooks-worker.test
 * Registry webhooks inside workerd, through the Worker entry (worker-harness.ts, imported directly): the routes answer as on Node,
 * a registry change writes its outbox row into D1 in its own batch, and the portable `deliverDue` (what the
 * Worker's cron `scheduled` handler calls) signs with workerd's Web Crypto and sends through a transport. A
 * test in workerd cannot run an HTTP receiver, so the transport here records what it is given; the real fetch
 * transport against a real receiver is covered on Node (test/node/webhooks-d1.test.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { makeHarness, type Identity } from './worker-harness.ts';
import { deliverDue } from '../../src/core/webhooks/deliver.ts';
import { signBody } from '../../src/core/webhooks/signature.ts';
import { DEFAULT_WEBHOOK_SETTINGS, type WebhookRuntime } from '../../src/core/webhooks/settings.ts';
import { parseAllowList } from '../../src/core/webhooks/address-policy.ts';
import type { WebhookRequest } from '../../src/core/webhooks/transport.ts';

let h: Awaited<ReturnType<typeof makeHarness>>;
let owner: Identity;

beforeAll(async () => {
  h = await makeHarness({ env: { REGATE_EXTERNAL_SOURCE_PREFIXES: 's3://' } });
  owner = await h.user('hook-owner@x');
  await h.expectOk('POST', '/api/2.0/mlflow/registered-models/create', { token: owner.token, body: { name: 'wm' } });
});

describe('webhooks in workerd', () => {
  it('HMAC-SHA256 matches RFC 4231 test case 2', async () => {
    expect(await signBody('Jefe', 'what do ya want for nothing?')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('create, outbox in the write batch, and deliverDue with a signed body', async () => {
    const w = (await h.expectOk('POST', '/api/2.0/mlflow/registry-webhooks/create', {
      token: owner.token,
      body: { model_name: 'wm', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: 'https://hooks.example.com/x', secret: 'ws' } },
    })).webhook;
    expect(w).toMatchObject({ model_name: 'wm', status: 'ACTIVE', http_url_spec: { url: 'https://hooks.example.com/x', enable_ssl_verification: true } });
    const refused = await h.call('POST', '/api/2.0/mlflow/registry-webhooks/create', {
      token: owner.token,
      body: { model_name: 'wm', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: 'https://169.254.169.254/' } },
    });
    expect(refused.status).toBe(400);
    await h.expectOk('POST', '/api/2.0/mlflow/model-versions/create', { token: owner.token, body: { name: 'wm', source: 's3://b/m' } });
    const rows = await h.db.prepare('SELECT event, payload FROM webhook_outbox').all<{ event: string; payload: string }>();
    expect(rows.map((r) => [r.event, JSON.parse(r.payload).version])).toEqual([['MODEL_VERSION_CREATED', '1']]);

    const sent: WebhookRequest[] = [];
    const webhooks: WebhookRuntime = {
      ...DEFAULT_WEBHOOK_SETTINGS,
      allow: parseAllowList(''),
      transport: { send: async (req) => (sent.push(req), { status: 204, body: '' }) },
    };
    const s = await deliverDue({ db: h.db, clock: h.clock, logger: h.deps.logger, webhooks }, h.clock.now());
    expect(s).toMatchObject({ claimed: 1, delivered: 1 });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.url.toString()).toBe('https://hooks.example.com/x');
    expect(JSON.parse(sent[0]!.body)).toMatchObject({ event: 'MODEL_VERSION_CREATED', webhook_id: w.id, model_name: 'wm', version: '1' });
    expect(sent[0]!.headers['X-Databricks-Signature']).toBe(await signBody('ws', sent[0]!.body));
    expect(await h.db.prepare('SELECT count(*) AS n FROM webhook_outbox').first<{ n: number }>()).toEqual({ n: 0 });
  });
});

describe('the Worker wiring helpers', () => {
  it('attach reads the REGATE_WEBHOOK_* vars once; a bad one throws naming it; deliverFromWorker runs a pass', async () => {
    const { attachWorkerWebhooks, deliverFromWorker } = await import('../../src/runtime/worker-webhooks.ts');
    const deps = { ...h.deps, webhooks: undefined } as typeof h.deps;
    expect(() => attachWorkerWebhooks(deps, { ...h.env, REGATE_WEBHOOK_ALLOW_HOSTS: 'bad host!' })).toThrow(/REGATE_WEBHOOK_ALLOW_HOSTS/);
    attachWorkerWebhooks(deps, { ...h.env, REGATE_WEBHOOK_ALLOW_HOSTS: '10.0.0.0/8', REGATE_WEBHOOK_TIMEOUT_SECONDS: '3' });
    expect(deps.webhooks!.timeoutMs).toBe(3000);
    expect(deps.webhooks!.allow.ranges).toHaveLength(1);
    const first = deps.webhooks;
    attachWorkerWebhooks(deps, h.env);
    expect(deps.webhooks).toBe(first);
    // Nothing due: one pass claims nothing (and sends nothing).
    expect(await deliverFromWorker(deps)).toMatchObject({ claimed: 0 });
  });
});
