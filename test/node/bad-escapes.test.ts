/**
 * Malformed percent-escapes sent byte for byte over a socket to the Node entry (whose path guard reads the
 * raw `incoming.url`): 400 INVALID_PARAMETER_VALUE in the path or the query, never a 500.
 */
import { request } from 'node:http';
import { serve, type ServerType } from '@hono/node-server';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { createNodeDeps } from '../../src/runtime/node-deps.ts';

let server: ServerType;
let port: number;
let token: string;
beforeAll(async () => {
  const { deps, boot } = await createNodeDeps({ dataDir: ':memory:', env: {}, logger: { info() {}, warn() {}, error() {} } });
  token = boot.firstAdmin!.token;
  const app = createApp(deps, { rawTarget: (c) => (c.env as { incoming?: IncomingMessage }).incoming?.url });
  server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => server.close());

function send(method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? 'x' : undefined);
  });
}

describe('malformed escapes on a real socket', () => {
  it.each([
    ['GET', '/dbfs/%c0%ae%c0%ae/x'],
    ['POST', '/dbfs/%c0%ae%c0%ae/x'],
    ['POST', '/dbfs/databricks/mlflow/tmp-external-source/a/%ff'],
    ['POST', '/dbfs/databricks/mlflow/tmp-external-source//a/%ZZ'],
    ['GET', '/api/2.0/dbfs/list?path=/databricks/mlflow/tmp-external-source/%ff'],
    ['GET', '/api/2.0/mlflow/registered-models/get?name=%ZZ'],
    ['GET', '/api/2.0/regate/artifacts/download?mid=%ff&ver=1&p=x&t=y'],
  ])('%s %s → 400', async (method, path) => {
    const r = await send(method, path);
    expect(r.status, r.body).toBe(400);
    expect(JSON.parse(r.body).error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('a well-formed escape still works', async () => {
    expect((await send('POST', '/dbfs/databricks/mlflow/tmp-external-source/a/caf%C3%A9')).status).toBe(200);
  });
});
