/**
 * @module download-http
 * Shared pieces of the download-route tests: the §1.4 object (1000 bytes), one env per test (cleaned up after
 * it), and assertions for the headers every answer carries and for refusals that must not touch storage.
 */
import { afterEach, expect, vi } from 'vitest';
import { downloadEnv, type DownloadEnv, type StoreKind } from './download-env.ts';
import { pattern } from './streams.ts';

export const N = 1000;
export const OBJ = pattern(N, 11);
export const P = 'model/MLmodel';

/** Registers the cleanup hook; call once at the top of a test file. */
export function useDownloadEnvs() {
  let env: DownloadEnv | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await env?.cleanup();
    env = undefined;
  });
  /** A fresh env with the §1.4 object at `P` and a valid URL for it. */
  async function setup(store: StoreKind = 'memory', opts: Parameters<typeof downloadEnv>[0] = {}) {
    env = await downloadEnv({ store, ...opts });
    const meta = await env.addObject(P, OBJ);
    const { url, token, claims } = await env.mint(P, meta);
    return { ...env, meta, url, token, claims };
  }
  /** A fresh env with no object yet. */
  async function bare(opts: Parameters<typeof downloadEnv>[0] = {}) {
    env = await downloadEnv(opts);
    return env;
  }
  return { setup, bare };
}

export async function get(e: DownloadEnv, url: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await e.app.request(url, { method, headers });
  const body = new Uint8Array(await res.arrayBuffer());
  return { res, status: res.status, h: res.headers, body };
}

export function expectPrivate(h: Headers) {
  expect(h.get('cache-control')).toBe('private, no-store, no-transform');
  expect(h.get('referrer-policy')).toBe('no-referrer');
}

export function expectRefusedWithoutStorage(e: DownloadEnv, r: { status: number; body: Uint8Array }, status: number) {
  expect(r.status).toBe(status);
  expect(e.store.calls).toBe(0);
  const json = JSON.parse(new TextDecoder().decode(r.body));
  expect(Object.keys(json).sort()).toEqual(['error_code', 'message']);
}
