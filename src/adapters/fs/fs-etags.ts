/**
 * @module fs-etags
 * The fs store's ETags: the quoted SHA-256 of an object's bytes, so a tag survives anything that keeps the
 * bytes (a `cp -a` of the data directory, a restore, a move to a new disk) and changes whenever they change.
 * A tag made from the inode number (as before) changed on every copy, and every download of a copied data
 * directory answered 412.
 *
 * `put` hashes the bytes as it writes them (≈ 2 GB/s with SHA-NI, measured next to the write loop, see the
 * README), so a tag costs no extra read. It is kept in a sidecar, `<root>/.regate-etag/<key>`, one line
 * `<ino> <size> <mtime ns> <etag>`, and in memory. The sidecar is a cache, never the truth: it counts only
 * while the file still has that inode, size and mtime, so a crash between the rename of the object and its
 * sidecar, or a concurrent put, can never pair a tag with other bytes. A file without a valid sidecar (a copied
 * data directory gets new inode numbers, an old data directory has none) is hashed once, on its first read,
 * and its sidecar rewritten; the tag is the same as before the copy because the bytes are.
 */
import type { BigIntStats } from 'node:fs';
import { mkdir, open, readFile, rename, rm, rmdir, type FileHandle } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';

export const ETAG_DIR = '.regate-etag';
/** Tags remembered in memory (≈ 150 bytes each), oldest forgotten first. */
const MEMO_MAX = 50_000;
const HASH_CHUNK = 1024 * 1024;

/** What identifies the bytes of a file for as long as nobody writes it in place. */
function identity(st: BigIntStats): string {
  return `${st.ino} ${st.size} ${st.mtimeNs}`;
}

export function quoteDigest(hash: { digest(enc: 'hex'): string }): string {
  return `"${hash.digest('hex')}"`;
}

export class EtagIndex {
  readonly #root: string;
  readonly #tmpDir: string;
  readonly #memo = new Map<string, string>();

  constructor(root: string, tmpDir: string) {
    this.#root = root;
    this.#tmpDir = tmpDir;
  }

  #sidecar(key: string): string {
    return join(this.#root, ETAG_DIR, ...key.split('/'));
  }

  #remember(st: BigIntStats, etag: string): void {
    const id = `${st.dev} ${identity(st)}`;
    if (this.#memo.size >= MEMO_MAX) this.#memo.delete(this.#memo.keys().next().value!);
    this.#memo.set(id, etag);
  }

  /** The tag remembered for a file with this stat, without any I/O. */
  known(st: BigIntStats): string | undefined {
    return this.#memo.get(`${st.dev} ${identity(st)}`);
  }

  /** The tag of the file `fh` (with stat `st`) that holds `key`: memory, then sidecar, then a hash of the bytes. */
  async etagOf(key: string, st: BigIntStats, fh: FileHandle): Promise<string> {
    const known = this.#memo.get(`${st.dev} ${identity(st)}`);
    if (known) return known;
    const line = await readFile(this.#sidecar(key), 'utf8').catch(() => '');
    const [ino, size, mtimeNs, etag] = line.trim().split(' ');
    if (etag !== undefined && `${ino} ${size} ${mtimeNs}` === identity(st) && /^"[0-9a-f]{64}"$/.test(etag)) {
      this.#remember(st, etag);
      return etag;
    }
    const hashed = await hashFile(fh, st.size);
    await this.record(key, st, hashed);
    return hashed;
  }

  /** Remembers the tag of a file just written or linked as `key`, and writes its sidecar (best effort). */
  async record(key: string, st: BigIntStats, etag: string): Promise<void> {
    this.#remember(st, etag);
    const path = this.#sidecar(key);
    const tmp = join(this.#tmpDir, `e-${randomBytes(8).toString('hex')}`);
    try {
      await mkdir(this.#tmpDir, { recursive: true, mode: 0o700 });
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(`${identity(st)} ${etag}\n`);
      } finally {
        await fh.close();
      }
      await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
      await rename(tmp, path);
    } catch {
      // A sidecar that could not be written only costs a hash on the next read after a restart.
      await rm(tmp, { force: true }).catch(() => {});
    }
  }

  /** Removes the sidecar of a deleted key and the directories that leaves empty (best effort). */
  async forget(key: string): Promise<void> {
    await rm(this.#sidecar(key), { force: true }).catch(() => {});
    const segs = key.split('/');
    for (let i = segs.length - 1; i > 0; i--) {
      try {
        await rmdir(join(this.#root, ETAG_DIR, ...segs.slice(0, i)));
      } catch {
        break;
      }
    }
  }
}

/** SHA-256 of the first `size` bytes of an open file, read at explicit positions (the handle may be shared). */
async function hashFile(fh: FileHandle, size: bigint): Promise<string> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(HASH_CHUNK);
  const total = Number(size);
  for (let pos = 0; pos < total; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(HASH_CHUNK, total - pos), pos);
    if (bytesRead === 0) break;
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return quoteDigest(hash);
}
