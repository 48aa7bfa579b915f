/**
 * @module fs-key-ring
 * The Node key ring: Ed25519 signing keys kept as JSON files `<dataDir>/keys/<kid>.json` ({kid, created, jwk}),
 * directory mode 0700, file mode 0600. The first start generates a key; `rotate()` writes a new one (temp
 * file, fsync, rename) and deletes the key that falls out of {current, previous}; `remove()` deletes a file.
 * Key files readable by group or others are refused, as ssh does, rather than used.
 * Tokens never cause file access: every lookup is in the in-memory KeySet.
 */
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../core/ports.ts';
import { systemClock } from '../../core/clock.ts';
import {
  generateStoredKey,
  importStoredKey,
  isValidKid,
  KeySet,
  type LoadedKey,
  type RotatingKeyRing,
  type StoredKey,
} from '../../core/artifacts/key-ring.ts';

async function writeKey(dir: string, key: StoredKey): Promise<void> {
  const tmp = join(dir, `.${key.kid}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.chmod(0o600);
    await fh.writeFile(`${JSON.stringify(key)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, `${key.kid}.json`));
}

async function loadKey(path: string): Promise<LoadedKey> {
  const st = await stat(path);
  if ((st.mode & 0o077) !== 0) {
    throw new Error(`Signing key ${path} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it.`);
  }
  const parsed = JSON.parse(await readFile(path, 'utf8')) as StoredKey;
  if (!isValidKid(parsed.kid)) throw new Error(`Signing key ${path} has an invalid kid.`);
  return importStoredKey(parsed);
}

/** Opens (or creates) the key ring under `dataDir`. @example const ring = await openFsKeyRing('.regate') */
export async function openFsKeyRing(dataDir: string, opts: { clock?: Clock } = {}): Promise<RotatingKeyRing> {
  const clock = opts.clock ?? systemClock;
  const dir = join(dataDir, 'keys');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json') && !f.startsWith('.'));
  const loaded = await Promise.all(files.map((f) => loadKey(join(dir, f))));
  if (loaded.length === 0) {
    const key = await generateStoredKey(clock.now());
    await writeKey(dir, key);
    loaded.push(await importStoredKey(key));
  }
  const set = new KeySet(loaded);
  // A crash between writing a new key and deleting the oldest can leave three files: finish the rotation.
  for (const kid of set.dropped) await rm(join(dir, `${kid}.json`), { force: true });

  return {
    current: () => set.current(),
    publicKey: (kid) => set.publicKey(kid),
    kids: () => set.kids(),
    async rotate() {
      const stored = await generateStoredKey(clock.now());
      const key = await importStoredKey(stored);
      await writeKey(dir, stored);
      for (const kid of set.add(key)) await rm(join(dir, `${kid}.json`), { force: true });
      return key.kid;
    },
    async remove(kid) {
      if (!isValidKid(kid)) return;
      if (set.remove(kid)) await rm(join(dir, `${kid}.json`), { force: true });
    },
  };
}
