/**
 * @module fs-key-ring
 * The Node key ring: the SQL ring (core/artifacts/sql-key-ring.ts) over the data directory's database, with
 * its key-encryption key from fs-kek.ts.
 *
 * Upgrading an install that kept its signing keys as JSON files `<dataDir>/keys/<kid>.json` ({kid, created,
 * jwk}; regate before migration 0003): when the table is empty, those keys are imported (sealed), so URIs
 * already issued keep verifying. Once the table holds keys, the files are deleted: the database is the only
 * source of truth, and a key later removed through the API (an emergency revocation) must not live on in
 * plaintext on disk. Key files readable by group or others are refused, as before, rather than imported.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, SqlDb } from '../../core/ports.ts';
import { systemClock } from '../../core/clock.ts';
import { isValidKid, type StoredKey } from '../../core/artifacts/key-ring.ts';
import { openSqlKeyRing, type SqlKeyRing } from '../../core/artifacts/sql-key-ring.ts';
import { DATABASE_FILE, keysDir, loadNodeKek, syncDir } from './fs-kek.ts';

export interface LegacyKeyFiles {
  keys: StoredKey[];
  paths: string[];
}

/** The `<kid>.json` key files of `dir`, refused if group/other-readable. */
export async function readLegacyKeyFiles(dir: string): Promise<LegacyKeyFiles> {
  const names = (await readdir(dir)).filter((f) => f.endsWith('.json') && !f.startsWith('.'));
  const paths = names.map((f) => join(dir, f));
  const keys = await Promise.all(
    paths.map(async (path) => {
      const st = await stat(path);
      if ((st.mode & 0o077) !== 0) {
        throw new Error(`Signing key ${path} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it.`);
      }
      let parsed: StoredKey;
      try {
        parsed = JSON.parse(await readFile(path, 'utf8')) as StoredKey;
      } catch (e) {
        throw new Error(
          `Legacy signing key file ${path} is not valid JSON (truncated?): ${(e as Error).message}. Restore it from a ` +
            `backup, or delete it (download URIs it signed stop verifying; with no key left, regate makes a new one).`,
        );
      }
      if (!isValidKid(parsed.kid)) throw new Error(`Signing key ${path} has an invalid kid.`);
      return parsed;
    }),
  );
  return { keys, paths };
}

/**
 * Opens the shared ring for a data directory over its database (migrations applied), importing legacy key
 * files into an empty table. @example const ring = await openNodeKeyRing(db, '.regate', { env: process.env })
 */
export async function openNodeKeyRing(
  db: SqlDb,
  dataDir: string,
  opts: { clock?: Clock; env?: Record<string, string | undefined> } = {},
): Promise<SqlKeyRing> {
  const kek = await loadNodeKek(dataDir, opts.env ?? {});
  const dir = await keysDir(dataDir);
  const legacy = await readLegacyKeyFiles(dir);
  const ring = await openSqlKeyRing(db, opts.clock ?? systemClock, kek, {
    databaseFile: join(dataDir, DATABASE_FILE),
    ...(legacy.keys.length ? { initialKeys: legacy.keys } : {}),
  });
  if (legacy.paths.length > 0) {
    // Committed in the table (by this instance or another): the plaintext copies go.
    for (const p of legacy.paths) await rm(p, { force: true });
    await syncDir(dir);
  }
  return ring;
}
