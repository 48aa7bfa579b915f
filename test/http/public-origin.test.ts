/**
 * The origin written into signed URIs (and into `/.well-known/databricks-config`) over a real socket with
 * forged Host headers: REGATE_PUBLIC_URL always wins; REGATE_PUBLIC_ORIGINS lets a listed Host through and
 * answers its first entry for any other; with neither, only a loopback Host is written and any other is
 * refused with a message naming the setting. Plus the start-up check for a non-loopback HOST.
 */
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { parseConfig } from '../../src/core/config.ts';
import { checkPublicOriginSetting, publicOriginOrUndefined } from '../../src/core/public-origin.ts';
import { makeHarness, type Harness } from '../helpers/harness.ts';

const AREA = '/databricks/mlflow/tmp-external-source';
const MV = '/api/2.0/mlflow/model-versions';

const servers: ServerType[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A harness with one registered version holding `MLmodel`, served on a real socket. */
async function served(env: Record<string, string>): Promise<{ h: Harness; port: number }> {
  const h = await makeHarness({ env });
  expect((await h.call('POST', `/dbfs${AREA}//up1/model/MLmodel`, { rawBody: 'flavors: {}\n' })).status).toBe(200);
  await h.expectOk('POST', '/api/2.0/mlflow/registered-models/create', { body: { name: 'm' } });
  await h.expectOk('POST', `${MV}/create`, { body: { name: 'm', source: `dbfs:${AREA}/up1/model` } });
  const app = createApp(h.deps);
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  servers.push(server);
  await new Promise<void>((r) => (server.listening ? r() : server.once('listening', () => r())));
  return { h, port: (server.address() as AddressInfo).port };
}

/** GET over the socket with an arbitrary Host header (fetch will not send a forged one). */
function rawGet(port: number, path: string, host: string, token?: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Host: host };
    if (token) headers.Authorization = `Bearer ${token}`;
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(body) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const SIGN = `${MV}/get-signed-download-uri?name=m&version=1&path=MLmodel`;
const signedOrigin = (r: { json: { signed_uri: string } }) => new URL(r.json.signed_uri).origin;

describe('the origin in signed URIs', () => {
  it('with no setting: a loopback Host is written, a forged one is refused with what to set', async () => {
    const { h, port } = await served({});
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      const r = await rawGet(port, SIGN, host, h.adminToken);
      expect(r.status).toBe(200);
      expect(signedOrigin(r)).toBe(`http://${host}`);
    }
    for (const host of ['evil.example', '127.0.0.1.evil.example', `evil.example:${port}`]) {
      const r = await rawGet(port, SIGN, host, h.adminToken);
      expect(r.status).toBe(400);
      expect(r.json.error_code).toBe('INVALID_STATE');
      expect(r.json.message).toMatch(/REGATE_PUBLIC_ORIGINS/);
      expect(JSON.stringify(r.json)).not.toMatch(/signed_uri/);
    }
    // A refused request minted nothing: only the loopback requests were audited as signed.
    await h.deps.audit.flush();
    const n = await h.db.prepare("SELECT COUNT(*) AS n FROM audit WHERE action = 'sign_uri'").first<{ n: number }>();
    expect(n!.n).toBe(3);
  });

  it('with REGATE_PUBLIC_ORIGINS: a listed Host is written, any other gets the first entry', async () => {
    const { h, port } = await served({ REGATE_PUBLIC_ORIGINS: 'https://regate.example.com, http://ml.internal:8080' });
    expect(signedOrigin(await rawGet(port, SIGN, 'ml.internal:8080', h.adminToken))).toBe('http://ml.internal:8080');
    expect(signedOrigin(await rawGet(port, SIGN, 'evil.example', h.adminToken))).toBe('https://regate.example.com');
    // Loopback is not special once a list is given.
    expect(signedOrigin(await rawGet(port, SIGN, `127.0.0.1:${port}`, h.adminToken))).toBe('https://regate.example.com');
  });

  it('with REGATE_PUBLIC_URL: always that origin, whatever the Host', async () => {
    const { h, port } = await served({ REGATE_PUBLIC_URL: 'https://dl.example.com', REGATE_PUBLIC_ORIGINS: 'http://ml.internal:8080' });
    for (const host of ['evil.example', 'ml.internal:8080', `127.0.0.1:${port}`]) {
      expect(signedOrigin(await rawGet(port, SIGN, host, h.adminToken))).toBe('https://dl.example.com');
    }
  });

  it('databricks-config names the OIDC root under the same rule, and leaves it out for a refused Host', async () => {
    const { h, port } = await served({});
    const ok = await rawGet(port, '/.well-known/databricks-config', `127.0.0.1:${port}`);
    expect(ok.json).toEqual({ workspace_id: h.deps.workspaceId, host_type: 'workspace', oidc_endpoint: `http://127.0.0.1:${port}/oidc` });
    const forged = await rawGet(port, '/.well-known/databricks-config', 'evil.example');
    expect(forged.status).toBe(200);
    expect(forged.json).toEqual({ workspace_id: h.deps.workspaceId, host_type: 'workspace' });
  });
});

describe('publicOriginOrUndefined and checkPublicOriginSetting', () => {
  it('matches listed origins case-insensitively and treats only loopback names as loopback', () => {
    const cfg = parseConfig({ REGATE_PUBLIC_ORIGINS: 'https://Regate.Example.com' });
    expect(publicOriginOrUndefined(cfg, 'https://regate.example.com')).toBe('https://Regate.Example.com');
    const none = parseConfig({});
    expect(publicOriginOrUndefined(none, 'http://127.8.9.10:1')).toBe('http://127.8.9.10:1');
    expect(publicOriginOrUndefined(none, 'http://app.localhost')).toBe('http://app.localhost');
    expect(publicOriginOrUndefined(none, 'http://127.0.0.256')).toBeUndefined();
    expect(publicOriginOrUndefined(none, 'http://localhost.evil.example')).toBeUndefined();
    expect(publicOriginOrUndefined(none, 'http://10.0.0.1')).toBeUndefined();
  });

  it('asks for a setting only when HOST is beyond loopback and neither setting is given', () => {
    for (const host of ['127.0.0.1', '::1', 'localhost']) expect(checkPublicOriginSetting(host, parseConfig({}))).toBeUndefined();
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'regate.example.com']) {
      expect(checkPublicOriginSetting(host, parseConfig({}))).toMatch(new RegExp(`HOST=${host.replace(/\./g, '\\.')} .*REGATE_PUBLIC_ORIGINS`));
    }
    expect(checkPublicOriginSetting('0.0.0.0', parseConfig({ REGATE_PUBLIC_ORIGINS: 'https://a.example' }))).toBeUndefined();
    expect(checkPublicOriginSetting('0.0.0.0', parseConfig({ REGATE_PUBLIC_URL: 'https://a.example' }))).toBeUndefined();
  });
});
