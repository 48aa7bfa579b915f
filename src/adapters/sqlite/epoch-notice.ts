/**
 * @module epoch-notice
 * The Node EpochSource: the workspace epochs (access/epoch.ts) from memory, with a change anywhere still seen
 * by the very next request, on every instance sharing the data directory.
 *
 * Reading the epochs from SQLite costs a read transaction per request (four lock syscalls, ~6 µs under load,
 * the largest single cost of a warm request). Instead, every write that moves an epoch is followed by a new
 * random value in a small notice file beside the database (`<db>-epochs`), written after its COMMIT and before
 * the writing call answers. A request reads the notice (one 8-byte pread) and reads the epochs from SQLite only
 * when the notice differs from the one its epochs were read under. So:
 * - a change made through regate (a revocation, a group change, a grant, a key rotation, any registry write)
 *   is seen by every request, on any instance, that starts after the call that made it has answered;
 * - a change the notice cannot announce (the writing process died between its COMMIT and its notice, or an
 *   operator changed rows with the sqlite3 shell) is seen within MAX_AGE_MS: the epochs are read again at least
 *   that often whatever the notice says.
 * A notice that cannot be read or written fails safe: the request reads the epochs from SQLite.
 *
 * Which writes move an epoch is not known from the SQL, so after every write (SqliteDb.onWrite) the epochs are
 * read once, synchronously, and the notice is written when they differ from the last reading. The only
 * frequent writes are audit flushes (about ten a second at most), so this costs nothing per request.
 */
import { closeSync, openSync, readSync, writeSync, constants } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import type { Clock, Logger } from '../../core/ports.ts';
import { EPOCHS_SQL, epochsOf, sameEpochs, type EpochSource, type Epochs } from '../../core/access/epoch.ts';
import type { SqliteDb } from './sqlite-db.ts';

/** The longest a request trusts the notice without reading the epochs from SQLite. */
export const MAX_AGE_MS = 1000;

const NOTICE_BYTES = 8;

export class EpochNotice {
  readonly #db: SqliteDb;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #maxAgeMs: number;
  readonly #fd: number;
  readonly #buf = Buffer.alloc(NOTICE_BYTES);
  /** The notice the cached epochs were read under (two 32-bit halves: no BigInt per request). */
  #lo = -1;
  #hi = -1;
  #epochs: Epochs | undefined;
  #readAt = -Infinity;

  /** Opens (or creates, mode 0600) the notice at `path` and hooks `db`'s writes. */
  constructor(db: SqliteDb, path: string, clock: Clock, logger?: Logger, maxAgeMs = MAX_AGE_MS) {
    this.#db = db;
    this.#clock = clock;
    this.#logger = logger;
    this.#maxAgeMs = maxAgeMs;
    this.#fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    db.onWrite = () => this.#afterWrite();
  }

  /** The EpochSource: from memory while the notice is unchanged and the last reading is young enough. */
  readonly read: EpochSource = async () => {
    const cached = this.#epochs;
    if (cached !== undefined && this.#readNotice() && this.#clock.now() - this.#readAt < this.#maxAgeMs) return cached;
    return this.#reload();
  };

  /** Reads the notice; true when it equals the one the cached epochs were read under. */
  #readNotice(): boolean {
    return this.#fill() && this.#buf.readInt32LE(0) === this.#lo && this.#buf.readInt32LE(4) === this.#hi;
  }

  /** Reads the notice into the buffer (a short file reads as zeros); false when it cannot be read. */
  #fill(): boolean {
    try {
      const n = readSync(this.#fd, this.#buf, 0, NOTICE_BYTES, 0);
      if (n < NOTICE_BYTES) this.#buf.fill(0, n);
      return true;
    } catch {
      return false;
    }
  }

  /** Notice first, then the epochs: whatever the notice announced is already committed. */
  #reload(): Promise<Epochs> {
    // An unreadable notice is remembered as one no read can match, so the next request reads the epochs again.
    const readable = this.#fill();
    const lo = readable ? this.#buf.readInt32LE(0) : Number.NaN;
    const hi = readable ? this.#buf.readInt32LE(4) : Number.NaN;
    const readAt = this.#clock.now();
    return this.#db
      .prepare(EPOCHS_SQL)
      .first<Parameters<typeof epochsOf>[0]>()
      .then((row) => {
        const e = epochsOf(row);
        this.#remember(e, lo, hi, readAt);
        return e;
      });
  }

  #remember(e: Epochs, lo: number, hi: number, readAt: number): void {
    this.#epochs = e;
    this.#lo = lo;
    this.#hi = hi;
    this.#readAt = readAt;
  }

  /** After a committed write: when an epoch moved, a new notice, before the write's caller is answered. */
  #afterWrite(): void {
    try {
      const e = epochsOf(this.#db.compiled(EPOCHS_SQL).get() as Parameters<typeof epochsOf>[0]);
      if (this.#epochs !== undefined && sameEpochs(e, this.#epochs)) return;
      const buf = Buffer.alloc(NOTICE_BYTES);
      randomFillSync(buf);
      writeSync(this.#fd, buf, 0, NOTICE_BYTES, 0);
      this.#remember(e, buf.readInt32LE(0), buf.readInt32LE(4), this.#clock.now());
    } catch (err) {
      // Other instances then see the change within MAX_AGE_MS; this one reads the epochs again at once.
      this.#epochs = undefined;
      this.#logger?.warn('epoch_notice_failed', { error: String(err) });
    }
  }

  close(): void {
    if (this.#db.onWrite) this.#db.onWrite = undefined;
    closeSync(this.#fd);
  }
}
