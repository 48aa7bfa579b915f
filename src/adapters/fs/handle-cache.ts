/**
 * @module handle-cache
 * Open read handles kept for reuse, for reads pinned to an ETag. Opening, stat-ing and closing a file cost more
 * than reading a small range of it (a 1-byte ranged GET spent a fifth of its CPU there), and signed-URI
 * downloads always name the ETag they expect, so a handle opened for that ETag can serve the next read of it.
 *
 * Why this is safe: a handle names an inode, and an object's bytes only change by a put, which writes a new
 * inode; so a handle whose stat gave ETag E reads exactly E's bytes for as long as it is open. Reads without an
 * ETag never use the cache (they must see the current file). A put or delete of a key retires its handle
 * (closed once its last read ends), so a deleted file's space is freed, and idle handles are closed after
 * `idleMs`, at most `max` are kept. The idle close runs on a timer too, not only at the next read: a server that
 * goes quiet must not keep descriptors (and the space of files deleted by another process) forever.
 */
import type { BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

export interface Lease {
  fh: FileHandle;
  st: BigIntStats;
  /** The ETag of the bytes the handle reads. */
  etag: string;
  /** Ends this read's use of the handle (closes it when it is not, or no longer, cached). */
  release(): Promise<void>;
}

interface Entry {
  key: string;
  etag: string;
  fh: FileHandle;
  st: BigIntStats;
  refs: number;
  lastUsed: number;
  retired: boolean;
}

/** Runs `fn` once after `ms` without keeping the process alive; the default uses an unref'd setTimeout. */
export type IdleTimer = (fn: () => void, ms: number) => void;

const unrefTimer: IdleTimer = (fn, ms) => void setTimeout(fn, ms).unref();

export class HandleCache {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  readonly #idleMs: number;
  readonly #now: () => number;
  readonly #timer: IdleTimer;
  #sweepPending = false;

  constructor(opts: { max?: number; idleMs?: number; now?: () => number; timer?: IdleTimer } = {}) {
    this.#max = opts.max ?? 128;
    this.#idleMs = opts.idleMs ?? 2000;
    this.#now = opts.now ?? (() => performance.now());
    this.#timer = opts.timer ?? unrefTimer;
  }

  /** Handles held open by the cache (in use or idle). */
  get size(): number {
    return this.#entries.size;
  }

  /** A lease on the cached handle for `key` if it was opened for exactly `etag`. */
  acquire(key: string, etag: string): Lease | undefined {
    this.#sweep();
    const e = this.#entries.get(key);
    if (!e || e.etag !== etag) return undefined;
    // Most recently used last: the bound evicts from the front.
    this.#entries.delete(key);
    this.#entries.set(key, e);
    e.refs++;
    return this.#lease(e);
  }

  /** Keeps a freshly opened handle for reuse and returns the first lease on it. */
  adopt(key: string, etag: string, fh: FileHandle, st: BigIntStats): Lease {
    this.drop(key);
    const e: Entry = { key, etag, fh, st, refs: 1, lastUsed: this.#now(), retired: false };
    this.#entries.set(key, e);
    for (const old of this.#entries.values()) {
      if (this.#entries.size <= this.#max) break;
      if (old.refs === 0) this.#retire(old);
    }
    return this.#lease(e);
  }

  /** Retires the handle of `key` (a put or delete changed what the key names). */
  drop(key: string): void {
    const e = this.#entries.get(key);
    if (e) this.#retire(e);
  }

  /** Closes every idle handle (shutdown, tests). */
  closeIdle(): void {
    for (const e of [...this.#entries.values()]) if (e.refs === 0) this.#retire(e);
  }

  #lease(e: Entry): Lease {
    let released = false;
    return {
      fh: e.fh,
      st: e.st,
      etag: e.etag,
      release: async () => {
        if (released) return;
        released = true;
        e.refs--;
        e.lastUsed = this.#now();
        if (e.refs === 0 && !e.retired) this.#scheduleSweep();
        if (e.retired && e.refs === 0) await e.fh.close().catch(() => {});
      },
    };
  }

  #retire(e: Entry): void {
    if (this.#entries.get(e.key) === e) this.#entries.delete(e.key);
    if (e.retired) return;
    e.retired = true;
    if (e.refs === 0) void e.fh.close().catch(() => {});
  }

  #sweep(): void {
    const cutoff = this.#now() - this.#idleMs;
    for (const e of [...this.#entries.values()]) if (e.refs === 0 && e.lastUsed < cutoff) this.#retire(e);
  }

  /** One pending timer at a time; it re-arms while idle handles remain. */
  #scheduleSweep(): void {
    if (this.#sweepPending) return;
    this.#sweepPending = true;
    this.#timer(() => {
      this.#sweepPending = false;
      this.#sweep();
      for (const e of this.#entries.values()) if (e.refs === 0) return this.#scheduleSweep();
    }, this.#idleMs);
  }
}

/** A lease on a handle nobody else shares: releasing it closes it. */
export function ownLease(fh: FileHandle, st: BigIntStats, etag: string): Lease {
  let released = false;
  return {
    fh,
    st,
    etag,
    release: async () => {
      if (released) return;
      released = true;
      await fh.close().catch(() => {});
    },
  };
}
