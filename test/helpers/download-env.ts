/**
 * @module download-env
 * A regate app wired for the download route: harness deps plus an object store (memory or a temp directory)
 * behind the fault injector, an in-memory key ring, a claims → key map, and manual timers by default.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/http/app.ts';
import { FsObjectStore } from '../../src/adapters/fs/fs-object-store.ts';
import { MemoryObjectStore } from '../../src/adapters/memory/memory-object-store.ts';
import { createMemoryKeyRing } from '../../src/adapters/memory/memory-key-ring.ts';
import { signDownloadToken, type DownloadClaims, type DownloadGrant } from '../../src/core/artifacts/signed-url.ts';
import { DOWNLOAD_PATH, downloadQuery } from '../../src/core/artifacts/download-url.ts';
import type { ObjectMeta, ObjectStore } from '../../src/core/storage/object-store.ts';
import type { Timers } from '../../src/core/timers.ts';
import { makeHarness } from './harness.ts';
import { FaultyObjectStore } from './faulty-object-store.ts';
import { manualTimers, type ManualTimers } from './manual-timers.ts';
import { streamOf } from './streams.ts';

export const MID = '0123456789abcdef0123456789abcdef';
export type StoreKind = 'memory' | 'fs';

export async function downloadEnv(opts: { store?: StoreKind; timers?: Timers; chunkSize?: number; limits?: { ttfbMs?: number; idleMs?: number } } = {}) {
  const h = await makeHarness();
  const manual: ManualTimers | undefined = opts.timers ? undefined : manualTimers();
  const timers = opts.timers ?? manual!;
  let root: string | undefined;
  let inner: ObjectStore;
  if (opts.store === 'fs') {
    root = await mkdtemp(join(tmpdir(), 'regate-dl-'));
    inner = new FsObjectStore(root, { durable: false });
  } else {
    inner = new MemoryObjectStore({ clock: h.clock, chunkSize: opts.chunkSize ?? 64 * 1024 });
  }
  const store = new FaultyObjectStore(inner, timers);
  const keyRing = await createMemoryKeyRing({ clock: h.clock });
  const objects = new Map<string, string>();
  const id = (mid: string, ver: string, p: string) => `${mid}\n${ver}\n${p}`;
  const artifactKey = async (c: DownloadClaims) => objects.get(id(c.mid, c.ver, c.p)) ?? null;
  const app = createApp({
    ...h.deps,
    objectStore: store,
    keyRing,
    artifactKey,
    timers,
    download: { ttfbMs: opts.limits?.ttfbMs ?? 8000, idleMs: opts.limits?.idleMs ?? 5000, maxTtlSeconds: 900 },
  });

  async function addObject(p: string, body: Uint8Array | ReadableStream<Uint8Array>, where: { mid?: string; ver?: string } = {}) {
    const mid = where.mid ?? MID;
    const ver = where.ver ?? '1';
    const key = `models/${mid}/v${ver}/${p}`;
    const meta = await inner.put(key, body instanceof Uint8Array ? streamOf(body, 256 * 1024) : body);
    objects.set(id(mid, ver, p), key);
    return meta;
  }

  async function mint(p: string, meta: ObjectMeta, grant: Partial<DownloadGrant> = {}, ttlSeconds?: number) {
    const { token, claims } = await signDownloadToken(
      keyRing,
      h.clock,
      { sub: '4242', mid: MID, ver: '1', p, et: meta.etag, sz: meta.size, ...grant },
      ttlSeconds === undefined ? {} : { ttlSeconds },
    );
    return { token, claims, url: `${DOWNLOAD_PATH}?${downloadQuery(claims, token)}` };
  }

  const cleanup = async () => {
    if (root) await rm(root, { recursive: true, force: true });
  };
  return { h, app, store, inner, keyRing, timers: manual, addObject, mint, cleanup, logLines: h.logLines };
}

export type DownloadEnv = Awaited<ReturnType<typeof downloadEnv>>;
