/**
 * @module pull
 * `regate pull models:/NAME/VERSION DIR`: a whole model version in one manifest call, then its files in
 * parallel (bounded, 16 by default), each resumed with Range when a partial file is there, verified against its
 * SHA-256 while it streams, and renamed into place only when it matches (pull-file.ts). URIs that expired
 * (the download answers 401) are refreshed by reading the manifest again, once for all the files waiting on
 * it. Every file that still failed after its attempts is named in the report; nothing unverified is left at a
 * destination path.
 */
import { resolve, sep } from 'node:path';
import { alreadyPresent, AttemptError, attemptFile, type FileOutcome } from './pull-file.ts';
import { fetchManifest, parseModelUri, resolveVersion, type ApiTarget, type Fetch, type Manifest, type ManifestEntry } from './manifest-client.ts';

export interface PullOptions {
  host: string;
  token: string;
  modelUri: string;
  dir: string;
  /** Files downloaded at once. */
  concurrency?: number;
  /** Attempts per file (connection failures, cut bodies, 5xx, expired URIs). */
  attempts?: number;
  /** Pause before retry n (1-based), ms; tests pass () => 0. */
  retryDelayMs?: (n: number) => number;
  fetch?: Fetch;
  /** Seconds since the epoch, for deciding a manifest's URIs are about to expire. */
  nowSeconds?: () => number;
  /** Progress lines (a file's outcome or a warning). */
  log?: (line: string) => void;
}

export interface PullReport {
  name: string;
  version: string;
  files: number;
  bytes: number;
  outcomes: Record<FileOutcome, number>;
  /** Files whose manifest entry has no SHA-256 (versions registered before digests): checked by size only. */
  unverified: string[];
  failed: Array<{ path: string; error: string }>;
  manifestFetches: number;
}

/** A manifest path as a path under `dir`, or null when it would leave it (never trusted blindly). */
export function destinationOf(dir: string, path: string): string | null {
  if (path === '' || path.startsWith('/') || path.includes('\\') || path.includes('\0')) return null;
  if (path.split('/').some((s) => s === '' || s === '.' || s === '..')) return null;
  const root = resolve(dir);
  const dest = resolve(root, path);
  return dest.startsWith(root + sep) ? dest : null;
}

/** Seconds before expiry at which a URI is not started with any more. */
const EXPIRY_MARGIN_S = 5;

export async function pull(o: PullOptions): Promise<PullReport> {
  const fetchFn = o.fetch ?? fetch;
  const now = o.nowSeconds ?? (() => Date.now() / 1000);
  const log = o.log ?? (() => {});
  const delay = o.retryDelayMs ?? ((n) => Math.min(4000, 250 * 2 ** (n - 1)));
  const attempts = o.attempts ?? 5;
  const target: ApiTarget = { host: o.host, token: o.token, fetch: fetchFn };
  const { name, version: asked } = parseModelUri(o.modelUri);
  const version = await resolveVersion(target, name, asked);

  let manifest: Manifest = await fetchManifest(target, name, version, now);
  let fetches = 1;
  const uris = new Map(manifest.files.map((f) => [f.path, f.signed_uri]));
  // Single flight: every file that finds its URI expired waits on the same re-read.
  let refreshing: Promise<void> | null = null;
  let generation = 0;
  const refresh = async (seen: number) => {
    if (generation !== seen) return;
    refreshing ??= (async () => {
      try {
        manifest = await fetchManifest(target, name, version, now);
        fetches++;
        for (const f of manifest.files) uris.set(f.path, f.signed_uri);
        generation++;
      } finally {
        refreshing = null;
      }
    })();
    await refreshing;
  };

  const report: PullReport = {
    name: manifest.name,
    version,
    files: manifest.files.length,
    bytes: 0,
    outcomes: { downloaded: 0, resumed: 0, present: 0 },
    unverified: [],
    failed: [],
    manifestFetches: 0,
  };

  const one = async (f: ManifestEntry): Promise<void> => {
    const dest = destinationOf(o.dir, f.path);
    if (dest === null) throw new AttemptError(`unsafe path in manifest: '${f.path}'`, 'fatal');
    if (f.sha256 === null) report.unverified.push(f.path);
    if (await alreadyPresent(dest, f)) {
      report.outcomes.present++;
      return;
    }
    let last = '';
    for (let n = 1; n <= attempts; n++) {
      if (now() >= manifest.expiresAt - EXPIRY_MARGIN_S) await refresh(generation);
      const seen = generation;
      try {
        const outcome = await attemptFile(fetchFn, f, uris.get(f.path)!, dest, madeDirs);
        report.outcomes[outcome]++;
        report.bytes += f.size;
        return;
      } catch (e) {
        if (!(e instanceof AttemptError)) throw e;
        last = e.message;
        if (e.kind === 'fatal') break;
        if (e.kind === 'expired') await refresh(seen);
        else if (n < attempts) await new Promise((r) => setTimeout(r, delay(n)));
      }
    }
    throw new AttemptError(last, 'fatal');
  };

  const madeDirs = new Set<string>();
  let next = 0;
  const files = manifest.files;
  const worker = async () => {
    while (next < files.length) {
      const f = files[next++]!;
      try {
        await one(f);
      } catch (e) {
        report.failed.push({ path: f.path, error: (e as Error).message });
        log(`FAILED ${f.path}: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency ?? 16, files.length)) }, worker));
  report.manifestFetches = fetches;
  report.failed.sort((a, b) => (a.path < b.path ? -1 : 1));
  return report;
}
