/**
 * @module webhooks-d1.test
 * The Workers path of webhooks, short of the Worker entry itself: regate on real D1 (miniflare) with the
 * portable fetch transport a Worker uses (portableWebhookRuntime), delivering to a real loopback receiver
 * through `deliverDue` as a cron `scheduled` handler would call it. Proves the outbox SQL (INSERT … SELECT over
 * json_each, printf, randomblob, UPDATE … RETURNING with a LIMIT subquery) runs on D1, and the fetch transport's
 * limits: redirects not followed, 64 KiB read, the time limit on injected timers, and the host check.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeD1Harness } from '../helpers/d1-harness.ts';
import { miniflareD1Pool } from '../helpers/miniflare-d1.ts';
import { manualTimers } from '../helpers/manual-timers.ts';
import { portableWebhookRuntime } from '../../src/core/webhooks/runtime-default.ts';
import { deliverDue } from '../../src/core/webhooks/deliver.ts';
import { fetchTransport, DeliveryError } from '../../src/core/webhooks/transport.ts';
import { systemTimers } from '../../src/core/timers.ts';
import { T0, type Identity } from '../helpers/harness.ts';

const pool = miniflareD1Pool();
let server: Server;
let port = 0;
const got: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
let answer: (n: number, res: import('node:http').ServerResponse) => void = (_n, res) => res.end('ok');

beforeAll(async () => {
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(parts).toString('utf8') });
      answer(got.length, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await pool.disposeAll();
});

describe('webhooks on D1 with the portable transport', () => {
  let h: Awaited<ReturnType<typeof makeD1Harness>>;
  let owner: Identity;
  const env = { REGATE_EXTERNAL_SOURCE_PREFIXES: 's3://', REGATE_WEBHOOK_ALLOW_HOSTS: '127.0.0.1' };

  beforeAll(async () => {
    h = await makeD1Harness(await pool.make(), { env });
    h.deps.webhooks = portableWebhookRuntime(env, systemTimers);
    owner = await h.user('owner@x');
    await h.expectOk('POST', '/api/2.0/mlflow/registered-models/create', { token: owner.token, body: { name: 'm' } });
  });

  it('records events in the write batch and delivers them signed, retrying a failure', async () => {
    const url = `http://127.0.0.1:${port}/hook`;
    const w = (await h.expectOk('POST', '/api/2.0/mlflow/registry-webhooks/create', {
      token: owner.token,
      body: { model_name: 'm', events: ['MODEL_VERSION_CREATED', 'MODEL_VERSION_TRANSITIONED_TO_STAGING'], http_url_spec: { url, secret: 'd1-secret' } },
    })).webhook;
    await h.expectOk('POST', '/api/2.0/mlflow/model-versions/create', { token: owner.token, body: { name: 'm', source: 's3://b/x' } });
    await h.expectOk('POST', '/api/2.0/mlflow/databricks/model-versions/transition-stage', {
      token: owner.token, body: { name: 'm', version: '1', stage: 'Staging', archive_existing_versions: false },
    });
    answer = (n, res) => {
      res.statusCode = n === 1 ? 500 : 200;
      res.end();
    };
    const deps = { db: h.db, clock: h.clock, logger: h.deps.logger, webhooks: h.deps.webhooks! };
    const first = await deliverDue(deps, h.clock.now());
    expect(first).toMatchObject({ claimed: 2, delivered: 1, retry: 1 });
    h.clock.advance(30_000);
    expect(await deliverDue(deps, h.clock.now())).toMatchObject({ claimed: 1, delivered: 1 });
    expect(await deliverDue(deps, h.clock.now())).toMatchObject({ claimed: 0 });
    expect(got).toHaveLength(3);
    for (const g of got) expect(g.headers['x-databricks-signature']).toBe(createHmac('sha256', 'd1-secret').update(g.body).digest('hex'));
    const events = got.map((g) => JSON.parse(g.body)).map((b) => [b.event, b.webhook_id, b.version, b.event_timestamp]);
    expect(events).toEqual(expect.arrayContaining([
      ['MODEL_VERSION_CREATED', w.id, '1', T0],
      ['MODEL_VERSION_TRANSITIONED_TO_STAGING', w.id, '1', T0],
    ]));
    const log = await h.db.prepare('SELECT outcome FROM webhook_deliveries ORDER BY id').all<{ outcome: string }>();
    expect(log.map((l) => l.outcome).sort()).toEqual(['delivered', 'delivered', 'retry']);
  });
});

describe('the fetch transport', () => {
  const send = (t: ReturnType<typeof fetchTransport>, path = '/x', maxResponseBytes = 64 * 1024) =>
    t.send({ url: new URL(`http://127.0.0.1:${port}${path}`), headers: { 'Content-Type': 'application/json' }, body: '{}', verifyTls: true }, { timeoutMs: 10_000, maxResponseBytes });

  it('does not follow redirects', async () => {
    const before = got.length;
    answer = (_n, res) => {
      res.statusCode = 307;
      res.setHeader('Location', `http://127.0.0.1:${port}/elsewhere`);
      res.end();
    };
    const r = await send(fetchTransport(fetch, systemTimers));
    expect(r.status).toBe(307);
    expect(got.length).toBe(before + 1);
  });

  it('reads at most the size limit of the answer', async () => {
    answer = (_n, res) => res.end('y'.repeat(500_000));
    const r = await send(fetchTransport(fetch, systemTimers), '/x', 64 * 1024);
    expect(r.body.length).toBe(64 * 1024);
  });

  it('gives up when the time limit passes on the injected timers', async () => {
    answer = () => {}; // never answers
    const timers = manualTimers();
    const p = send(fetchTransport(fetch, timers)).catch((e: unknown) => e);
    await timers.armed(1);
    timers.advance(10_000);
    const err = await p;
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).kind).toBe('timeout');
    server.closeAllConnections();
  });
});
