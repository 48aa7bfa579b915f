/**
 * @module pull-file
 * One file of a manifest onto disk, verified: bytes go to `<dest>.regate-partial` while a streaming SHA-256 runs
 * over them, and only a file whose size and SHA-256 equal the manifest's is renamed onto `<dest>` (a rename is
 * atomic, so `<dest>` is always either absent, the old file, or the verified new one). A partial file left by a
 * cut connection or an earlier run is resumed with `Range: bytes=<have>-` (its bytes hashed once from disk to
 * seed the hash); a server answering 200 instead restarts it. A destination already holding the right bytes is
 * kept without a download.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Fetch, ManifestEntry } from './manifest-client.ts';

export type FileOutcome = 'downloaded' | 'resumed' | 'present';

/** Why a download attempt failed; `expired` asks the caller for a fresh URI, `retry` for another attempt. */
export class AttemptError extends Error {
  readonly kind: 'expired' | 'retry' | 'fatal';
  constructor(message: string, kind: 'expired' | 'retry' | 'fatal') {
    super(message);
    this.kind = kind;
  }
}

export const PARTIAL_SUFFIX = '.regate-partial';

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

async function hashFile(path: string, into: Hash = createHash('sha256')): Promise<Hash> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) into.update(chunk as Buffer);
  return into;
}

/** Whether `dest` already holds exactly the manifest's bytes (size, then SHA-256). */
export async function alreadyPresent(dest: string, f: ManifestEntry): Promise<boolean> {
  if ((await sizeOf(dest)) !== f.size) return false;
  if (f.sha256 === null) return false;
  return (await hashFile(dest)).digest('hex') === f.sha256;
}

/**
 * One attempt at `f` from `uri`: resumes a partial file, verifies, renames. Throws AttemptError. `madeDirs` holds
 * the directories this pull already created (one mkdir per directory, not per file).
 */
export async function attemptFile(fetchFn: Fetch, f: ManifestEntry, uri: string, dest: string, madeDirs: Set<string> = new Set()): Promise<FileOutcome> {
  const partial = dest + PARTIAL_SUFFIX;
  const parent = dirname(dest);
  if (!madeDirs.has(parent)) {
    await mkdir(parent, { recursive: true });
    madeDirs.add(parent);
  }
  let have = (await sizeOf(partial)) ?? 0;
  if (have > f.size) {
    await rm(partial, { force: true });
    have = 0;
  }
  const hash = createHash('sha256');
  let resumed = false;
  if (have < f.size || f.size === 0) {
    let res: Response;
    try {
      res = await fetchFn(uri, { headers: have > 0 ? { Range: `bytes=${have}-` } : {} });
    } catch (e) {
      throw new AttemptError(`connection failed: ${(e as Error).message}`, 'retry');
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new AttemptError(`download URI refused (${res.status})`, 'expired');
    }
    if (res.status === 206 && have > 0) {
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
      if (!m || Number(m[1]) !== have || Number(m[3]) !== f.size) {
        await res.body?.cancel();
        await rm(partial, { force: true });
        throw new AttemptError(`unexpected Content-Range '${res.headers.get('content-range')}'`, 'retry');
      }
      await hashFile(partial, hash);
      resumed = true;
    } else if (res.status === 200) {
      have = 0;
    } else {
      await res.body?.cancel();
      if (res.status === 416) await rm(partial, { force: true });
      const kind = res.status >= 500 || res.status === 429 || res.status === 416 ? 'retry' : 'fatal';
      throw new AttemptError(`download answered ${res.status}`, kind);
    }
    const stated = res.headers.get('x-regate-sha256');
    if (stated !== null && f.sha256 !== null && stated !== f.sha256) {
      await res.body?.cancel();
      throw new AttemptError(`server states SHA-256 ${stated}, manifest says ${f.sha256}`, 'fatal');
    }
    const fh = await open(partial, have > 0 ? 'a' : 'w');
    try {
      if (res.body) {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          hash.update(chunk);
          await fh.write(chunk);
          have += chunk.length;
        }
      }
    } catch (e) {
      // What arrived stays in the partial file: the next attempt asks for the rest.
      throw new AttemptError(`connection cut: ${(e as Error).message}`, 'retry');
    } finally {
      await fh.close();
    }
  } else {
    await hashFile(partial, hash);
  }
  // `have` counts what the partial file holds: what was there plus every byte written to it.
  const got = have;
  if (got !== f.size) throw new AttemptError(`got ${got} of ${f.size} bytes`, 'retry');
  const digest = hash.digest('hex');
  if (f.sha256 !== null && digest !== f.sha256) {
    await rm(partial, { force: true });
    throw new AttemptError(`SHA-256 mismatch: expected ${f.sha256}, got ${digest}`, 'retry');
  }
  await rename(partial, dest);
  return resumed ? 'resumed' : 'downloaded';
}
