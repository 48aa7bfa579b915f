/**
 * @module fs-temp-area
 * The fs store's temp directory (`<root>/.regate-tmp`): puts and copies write there and rename into place, so
 * readers never see a partial object. It knows which temp files this process is writing, so the crash sweep
 * (`sweep`) removes only files that died with their process (`kill -9`, a power cut), never one in flight.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errno, storageError } from './fs-meta.ts';

export const TMP_DIR = '.regate-tmp';

export class TempArea {
  readonly dir: string;
  /** Temp files being written right now: `sweep` never touches them, however old. */
  readonly #inflight = new Set<string>();

  constructor(root: string) {
    this.dir = join(root, TMP_DIR);
  }

  /** A fresh temp path, marked in flight until `done` is called (the caller makes the directory: `ensure`). */
  take(): { path: string; done: () => void } {
    const path = join(this.dir, randomBytes(12).toString('hex'));
    this.#inflight.add(path);
    return { path, done: () => void this.#inflight.delete(path) };
  }

  /** Makes the directory if need be (private to the gateway). */
  async ensure(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Removes every temp file not in flight here whose status changed (written, linked) at least `minAgeMs`
   * before `now` (wall-clock ms: file times are). The age spares another process's upload in flight over a
   * shared data directory: it writes (and so touches) its temp file at least every 1 MiB. Returns how many.
   */
  async sweep(minAgeMs: number, now: number): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (errno(err) === 'ENOENT') return 0;
      throw storageError(err, 'Sweep');
    }
    let removed = 0;
    for (const name of names) {
      const path = join(this.dir, name);
      if (this.#inflight.has(path)) continue;
      try {
        const st = await lstat(path);
        if (now - Math.max(st.mtimeMs, st.ctimeMs) < minAgeMs) continue;
        await rm(path, { force: true, recursive: true });
        removed++;
      } catch {
        // Gone already (its put finished), or not ours to remove: the next sweep looks again.
      }
    }
    return removed;
  }
}
