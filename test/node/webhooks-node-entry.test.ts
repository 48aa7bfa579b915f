/**
 * @module webhooks-node-entry.test
 * Webhooks in the Node entry as an operator runs it (`node src/runtime/node.ts`): the delivery timer started
 * by node.ts sends a registry event to a real loopback receiver allow-listed with REGATE_WEBHOOK_ALLOW_HOSTS,
 * with no test hook involved; and a bad REGATE_WEBHOOK_* setting stops start-up with a message naming it.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startNode } from '../helpers/node-process.ts';

const running: ChildProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.kill('SIGTERM');
});

describe('webhooks in the Node entry', () => {
  it('delivers a registry event from the outbox on its own timer', async () => {
    const bodies: Array<{ sig: string | undefined; body: string }> = [];
    let arrived: () => void = () => {};
    const first = new Promise<void>((r) => (arrived = r));
    const rx = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        bodies.push({ sig: req.headers['x-databricks-signature'] as string | undefined, body: Buffer.concat(parts).toString() });
        res.end('ok');
        arrived();
      });
    });
    await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
    try {
      const port = (rx.address() as AddressInfo).port;
      const token = 'dapi' + 'ab'.repeat(16);
      const dataDir = join(mkdtempSync(join(tmpdir(), 'regate-hooks-')), 'data');
      const s = await startNode(
        { REGATE_DATA_DIR: dataDir, REGATE_ADMIN_TOKEN: token, REGATE_WEBHOOK_ALLOW_HOSTS: '127.0.0.1', REGATE_WEBHOOK_POLL_SECONDS: '0.1', REGATE_EXTERNAL_SOURCE_PREFIXES: 's3://' },
        running,
      );
      const call = async (path: string, body: unknown) => {
        const r = await fetch(`${s.url}${path}`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
        expect(r.status, await r.clone().text()).toBe(200);
        return r.json();
      };
      await call('/api/2.0/mlflow/registered-models/create', { name: 'm' });
      const w = (await call('/api/2.0/mlflow/registry-webhooks/create', { model_name: 'm', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: `http://127.0.0.1:${port}/x`, secret: 'k' } })).webhook;
      await call('/api/2.0/mlflow/model-versions/create', { name: 'm', source: 's3://b/m' });
      await first;
      expect(bodies).toHaveLength(1);
      const payload = JSON.parse(bodies[0]!.body);
      expect(payload).toMatchObject({ event: 'MODEL_VERSION_CREATED', webhook_id: w.id, model_name: 'm', version: '1' });
      expect(bodies[0]!.sig).toBe(createHmac('sha256', 'k').update(bodies[0]!.body).digest('hex'));
    } finally {
      rx.closeAllConnections();
      rx.close();
    }
  });

  it.each([
    ['REGATE_WEBHOOK_ALLOW_HOSTS', 'not a host!', /REGATE_WEBHOOK_ALLOW_HOSTS: not a host name, address or CIDR/],
    ['REGATE_WEBHOOK_TIMEOUT_SECONDS', '99', /REGATE_WEBHOOK_TIMEOUT_SECONDS must be a number of seconds from 1 to 30/],
    ['REGATE_WEBHOOK_MAX_ATTEMPTS', '0', /REGATE_WEBHOOK_MAX_ATTEMPTS must be an integer from 1 to 20/],
  ])('a bad %s stops start-up, naming it', (name, value, message) => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'regate-hooks-')), 'data');
    const r = spawnSync(process.execPath, ['src/runtime/node.ts'], { env: { ...process.env, PORT: '0', REGATE_DATA_DIR: dataDir, [name]: value }, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).not.toContain('listening');
  });
});
