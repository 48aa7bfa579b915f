/**
 * @module fs-kek
 * The key-encryption key on Node. `REGATE_KEY_ENCRYPTION_KEY` wins when set. Otherwise the embedded default
 * keeps one in `<dataDir>/keys/kek` (base64url of 32 random bytes): generated on first start into a temp
 * file (mode 0600, fsync), then hard-linked into place, which, unlike a rename, never replaces a KEK another
 * process over the same data directory wrote first (both then use the one that won); the directory is
 * 0700 and fsynced. A KEK file readable by group or others is refused, as ssh does with keys.
 */
import { chmod, link, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { generateKekText, importKek, KEK_ENV, parseKek } from '../../core/artifacts/kek.ts';

export const KEK_FILE = 'kek';
/** The data directory's database (node-deps.ts), named in the fixes errors give. */
export const DATABASE_FILE = 'regate.sqlite';

/** `<dataDir>/keys`, created 0700 (and made 0700 if it exists). */
export async function keysDir(dataDir: string): Promise<string> {
  const dir = join(dataDir, 'keys');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  return dir;
}

/** Makes a rename, link or unlink in `dir` durable. Best effort where directories cannot be fsynced. */
export async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Some platforms (Windows) cannot open or fsync a directory.
  } finally {
    await fh?.close();
  }
}

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * A KEK file that does not parse: it is what seals the signing keys, so the fix is to restore it; only if it
 * is lost, start over with new keys (the file and the table emptied together).
 */
function corruptKek(path: string, problem: string): Error {
  const db = join(dirname(dirname(path)), DATABASE_FILE);
  return new Error(
    `Key-encryption key file ${path} is corrupt: ${problem}. It seals the signing keys in ${db}: restore it from a ` +
      `backup (or set ${KEK_ENV} to the same key). If it is lost, start over with new signing keys (every download ` +
      `URI already issued stops verifying): rm ${path} && sqlite3 ${db} "DELETE FROM signing_keys", then start regate.`,
  );
}

async function readKekFile(path: string): Promise<Uint8Array> {
  const st = await stat(path);
  if (!st.isFile()) throw new Error(`${path} is not a file.`);
  if ((st.mode & 0o077) !== 0) {
    throw new Error(`Key-encryption key ${path} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it.`);
  }
  const text = await readFile(path, 'utf8');
  if (text.trim() === '') throw corruptKek(path, 'it is empty');
  try {
    return parseKek(text, 'it');
  } catch (e) {
    // parseKek's advice to make a new key is wrong here: a new KEK opens none of the stored keys.
    throw corruptKek(path, (e as Error).message.replace(/; make one with.*$/, '').replace(/\.$/, ''));
  }
}

/** Writes `text` to `path` unless a file is there already (temp file, fsync, hard link). */
async function createExclusive(dir: string, path: string, text: string): Promise<void> {
  const tmp = join(dir, `.${KEK_FILE}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.chmod(0o600);
    await fh.writeFile(`${text}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, path);
  } catch (e) {
    if (code(e) === 'EEXIST') return; // another process was first: its KEK is the one
    if (!['EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP'].includes(code(e) ?? '')) throw e;
    // No hard links on this file system: rename (only a simultaneous first start could race here).
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
    await syncDir(dir);
  }
}

/**
 * The KEK for the data directory: from `REGATE_KEY_ENCRYPTION_KEY`, else `<dataDir>/keys/kek` (created on
 * first start). @example const kek = await loadNodeKek('.regate', process.env)
 */
export async function loadNodeKek(dataDir: string, env: Record<string, string | undefined>): Promise<CryptoKey> {
  const given = env[KEK_ENV];
  if (given !== undefined && given.trim() !== '') return importKek(parseKek(given));
  const dir = await keysDir(dataDir);
  const path = join(dir, KEK_FILE);
  try {
    return await importKek(await readKekFile(path));
  } catch (e) {
    if (code(e) !== 'ENOENT') throw e;
  }
  await createExclusive(dir, path, generateKekText());
  return importKek(await readKekFile(path));
}
