/**
 * Raw request targets, sent byte for byte over a socket to the Node entry (fetch and `new Request()` would
 * normalise them first): dot segments, repeated slashes, encoded slashes and backslashes are refused before
 * routing, with or without credentials.
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
  const { deps, boot } = await createNodeDeps({ dataDir: ':memory:', logger: { info() {}, warn() {}, error() {} } });
  token = boot.firstAdmin!.token;
  const app = createApp(deps, { rawTarget: (c) => (c.env as { incoming?: IncomingMessage }).incoming?.url });
  server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => server.close());

function get(path: string, auth: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers: auth ? { Authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('raw targets on a real socket', () => {
  it('the canonical path works', async () => {
    expect((await get('/api/2.0/preview/scim/v2/Me', true)).status).toBe(200);
  });

  it.each([
    '/api/2.0/preview/scim/v2/./Me',
    '/api/2.0/preview/x/../scim/v2/Me',
    '/api/2.0/preview/scim/v2/Me/..',
    '//api/2.0/preview/scim/v2/Me',
    '/api/2.0//preview/scim/v2/Me',
    '/api/2.0/preview/scim%2Fv2/Me',
    '/api/2.0/preview/scim/v2/%2e%2e/v2/Me',
    '/api/2.0/preview/scim/v2/%252e%252e/Me',
    '/api/2.0/preview\\scim/v2/Me',
    '/api/2.0/preview/scim%5Cv2/Me',
  ])('%s is refused with or without credentials', async (path) => {
    for (const auth of [true, false]) {
      const r = await get(path, auth);
      expect(r.status, `${path} auth=${auth}`).toBe(400);
    }
  });
});
