/**
 * @module raw-target-server
 * The app served by @hono/node-server the way the Node entry serves it (the path guard reads the raw
 * `incoming.url`), on an in-memory database, plus a client that sends a request target byte for byte:
 * fetch and `new Request()` would normalise dot segments, slashes and escapes before they left the test.
 */
import { request, type IncomingMessage } from 'node:http';
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/http/app.ts';
import { createNodeDeps } from '../../src/runtime/node-deps.ts';

export interface RawTargetServer {
  /** The first admin's token. */
  token: string;
  /** Sends `target` as is; `auth` adds the admin's bearer token; POST sends a one-byte body. */
  send(method: string, target: string, auth?: boolean): Promise<{ status: number; body: string }>;
  close(): void;
}

export async function startRawTargetServer(): Promise<RawTargetServer> {
  const { deps, boot } = await createNodeDeps({ dataDir: ':memory:', env: {}, logger: { info() {}, warn() {}, error() {} } });
  const token = boot.firstAdmin!.token;
  const app = createApp(deps, { rawTarget: (c) => (c.env as { incoming?: IncomingMessage }).incoming?.url });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  const send = (method: string, target: string, auth = true) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const headers = auth ? { Authorization: `Bearer ${token}` } : {};
      const req = request({ host: '127.0.0.1', port, path: target, method, headers }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end(method === 'POST' ? 'x' : undefined);
    });
  return { token, send, close: () => server.close() };
}
