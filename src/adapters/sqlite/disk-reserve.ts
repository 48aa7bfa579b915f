/**
 * @module disk-reserve
 * A file of reserved disk space beside the database, given up when the disk is full so that deletes (which need
 * a little space themselves: SQLite's WAL grows even to delete) can commit and free the rest; written back once
 * there is room again. Random bytes, so a compressing or deduplicating file system really allocates the space.
 */
import { randomFill } from 'node:crypto';
import { existsSync, unlinkSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { systemClock } from '../../core/clock.ts';
import type { Clock } from '../../core/ports.ts';

/** `size` random bytes, made off the event loop. */
const randomBuffer = (size: number) =>
  new Promise<Buffer>((resolve, reject) => randomFill(Buffer.allocUnsafe(size), (err, buf) => (err ? reject(err) : resolve(buf))));

export class DiskReserve {
  readonly path: string;
  readonly bytes: number;
  readonly retryMs: number;
  /** When the reserve was last given up, or last failed to be written back (ms); undefined while it is held. */
  #spentAt: number | undefined;
  #writing: Promise<void> | undefined;
  readonly #clock: Clock;

  /** Starts writing the reserve in the background when it is not there (a start on a full disk goes on without). */
  constructor(path: string, bytes: number, retryMs: number, clock: Clock = systemClock) {
    this.path = path;
    this.bytes = bytes;
    this.retryMs = retryMs;
    this.#clock = clock;
    if (!existsSync(path)) {
      this.#spentAt = -Infinity;
      void this.restore();
    }
  }

  /** Whether the reserve file is in place. */
  get held(): boolean {
    return this.#spentAt === undefined && this.#writing === undefined;
  }

  /** Gives the reserved space back to the file system; false when there is none to give. Synchronous, so the caller's retry sees the room. */
  spend(): boolean {
    if (this.#spentAt !== undefined || this.#writing !== undefined) return false;
    try {
      unlinkSync(this.path);
    } catch {
      // Already gone: nothing to give back.
    }
    this.#spentAt = this.#clock.now();
    return true;
  }

  /**
   * Writes the reserve back if it was spent, at most once per `retryMs`; a disk still full leaves it spent.
   * Resolves when done (callers need not wait).
   */
  restore(): Promise<void> {
    const spent = this.#spentAt;
    if (this.#writing) return this.#writing;
    if (spent === undefined || this.#clock.now() - spent < this.retryMs) return Promise.resolve();
    this.#spentAt = undefined;
    this.#writing = randomBuffer(this.bytes)
      .then((bytes) => writeFile(this.path, bytes, { mode: 0o600 }))
      .catch(async () => {
        this.#spentAt = this.#clock.now();
        await unlink(this.path).catch(() => {});
      })
      .finally(() => {
        this.#writing = undefined;
      });
    return this.#writing;
  }

  /** Whether a restore is due (cheap; checked after every successful statement). */
  get spent(): boolean {
    return this.#spentAt !== undefined;
  }
}
