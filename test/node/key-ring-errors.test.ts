/**
 * A corrupt signing-key record or KEK file stops start-up with a message that names what is broken (table and
 * row kid, or file path), what is wrong with it (truncated, unparseable, sealed with another KEK) and how to
 * fix it (delete the row with sqlite3, restore the KEK, start over with new keys), never a bare JSON error.
 */
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteDb } from '../../src/adapters/sqlite/sqlite-db.ts';
import { applyMigrations } from '../../src/core/migrate.ts';
import { manualClock } from '../../src/core/clock.ts';
import { openSqlKeyRing } from '../../src/core/artifacts/sql-key-ring.ts';
import { generateKekText, importKek, parseKek } from '../../src/core/artifacts/kek.ts';
import { generateStoredKey } from '../../src/core/artifacts/key-ring.ts';
import { loadNodeKek } from '../../src/adapters/fs/fs-kek.ts';
import { openNodeKeyRing } from '../../src/adapters/fs/fs-key-ring.ts';
import { readdirSync, readFileSync } from 'node:fs';

const T0 = Date.UTC(2026, 0, 1);
const MIGRATIONS = join(import.meta.dirname, '../../migrations');
const migrations = () => readdirSync(MIGRATIONS).map((name) => ({ name, sql: readFileSync(join(MIGRATIONS, name), 'utf8') }));

const dirs: string[] = [];
const dbs: SqliteDb[] = [];
afterEach(async () => {
  for (const db of dbs.splice(0)) db.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A data directory with its database migrated and a ring of two keys opened over it (KEK file on disk). */
async function dataDir() {
  const dir = await mkdtemp(join(tmpdir(), 'regate-keyerr-'));
  dirs.push(dir);
  const dbPath = join(dir, 'regate.sqlite');
  const db = new SqliteDb(dbPath);
  dbs.push(db);
  await applyMigrations(db, migrations(), T0);
  const clock = manualClock(T0);
  const ring = await openNodeKeyRing(db, dir, { clock });
  const older = ring.current().kid;
  clock.advance(1000);
  const current = await ring.rotate();
  return { dir, dbPath, db, clock, older, current };
}

const set = (db: SqliteDb, column: string, sql: string, kid: string) =>
  db.prepare(`UPDATE signing_keys SET ${column} = ${sql} WHERE kid = ?`).bind(kid).run();

describe('a broken signing_keys row', () => {
  it('truncated private part: names the row, says truncated, and gives the sqlite3 command for this database', async () => {
    const { dir, dbPath, db, clock, older } = await dataDir();
    await set(db, 'private_enc', 'substr(private_enc, 1, 40)', older);
    const err = await openNodeKeyRing(db, dir, { clock }).then(() => null, (e: Error) => e.message);
    expect(err).toContain(`signing_keys row kid='${older}'`);
    expect(err).toMatch(/truncated/);
    expect(err).toContain(`sqlite3 ${dbPath} "DELETE FROM signing_keys WHERE kid = '${older}'"`);
    expect(err).toMatch(/rotate/);
    expect(err).not.toMatch(/JSON/);
  });

  it('unparseable public part, and a sealed part in no known format: each named with its row', async () => {
    const { dir, db, clock, older, current } = await dataDir();
    await set(db, 'public_jwk', "'{\"kty\":\"OK'", older);
    let err = await openNodeKeyRing(db, dir, { clock }).then(() => null, (e: Error) => e.message);
    expect(err).toContain(`signing_keys row kid='${older}'`);
    expect(err).toMatch(/public_jwk is not valid JSON/);
    expect(err).toContain(`DELETE FROM signing_keys WHERE kid = '${older}'`);
    await set(db, 'public_jwk', "'{}'", older);
    await set(db, 'private_enc', "'garbage'", current);
    err = await openNodeKeyRing(db, dir, { clock }).then(() => null, (e: Error) => e.message);
    // Both rows are broken: both are named.
    expect(err).toContain(`kid='${current}'`);
    expect(err).toContain(`kid='${older}'`);
    expect(err).toMatch(/not in the v1 sealed format/);
  });

  it('every row sealed with another KEK: says the KEK is wrong and how to restore it (or start over)', async () => {
    const { db, clock } = await dataDir();
    const other = await importKek(parseKek(generateKekText()));
    const err = await openSqlKeyRing(db, clock, other).then(() => null, (e: Error) => e.message);
    expect(err).toMatch(/None of the 2 signing keys in the signing_keys table decrypts with the configured key-encryption key/);
    expect(err).toMatch(/REGATE_KEY_ENCRYPTION_KEY/);
    expect(err).toMatch(/restore/i);
    expect(err).toContain('DELETE FROM signing_keys');
    expect(err).toMatch(/does not decrypt with the configured key-encryption key/);
  });

  it('an invalid kid is shown (quoted, cut short), not just "an invalid kid"', async () => {
    const { dir, db, clock, older, current } = await dataDir();
    await db.prepare('UPDATE signing_keys SET kid = ? WHERE kid = ?').bind('bad kid!', older).run();
    const err = await openNodeKeyRing(db, dir, { clock }).then(() => null, (e: Error) => e.message);
    expect(err).toContain(`signing_keys row kid='bad kid!'`);
    expect(err).toMatch(/1 of the 2 rows/);
    expect(err).not.toContain(current);
    expect(err).toMatch(/not a valid key id/);
  });
});

describe('a broken KEK file', () => {
  it.each([
    ['garbage', 'not base64!!\n', /is not base64 or base64url/],
    ['truncated', 'AAAAAAAAAAAAAAAAAAAAAAAA\n', /must hold exactly 32 bytes \(it holds 18\)/],
    ['empty', '', /is empty/],
  ])('%s: names the file and says to restore it, or how to start over', async (_what, text, problem) => {
    const dir = await mkdtemp(join(tmpdir(), 'regate-keyerr-'));
    dirs.push(dir);
    await mkdir(join(dir, 'keys'), { mode: 0o700 });
    const fh = await open(join(dir, 'keys', 'kek'), 'w', 0o600);
    await fh.writeFile(text);
    await fh.close();
    const err = await loadNodeKek(dir, {}).then(() => null, (e: Error) => e.message);
    expect(err).toContain(join(dir, 'keys', 'kek'));
    expect(err).toMatch(problem);
    expect(err).toMatch(/restore it from a backup/);
    expect(err).toContain(`sqlite3 ${join(dir, 'regate.sqlite')} "DELETE FROM signing_keys"`);
  });
});

describe('a broken legacy key file', () => {
  it('a truncated <kid>.json names the file instead of a bare JSON error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'regate-keyerr-'));
    dirs.push(dir);
    const db = new SqliteDb(join(dir, 'regate.sqlite'));
    dbs.push(db);
    await applyMigrations(db, migrations(), T0);
    await mkdir(join(dir, 'keys'), { mode: 0o700 });
    const key = await generateStoredKey(T0);
    const path = join(dir, 'keys', `${key.kid}.json`);
    await writeFile(path, JSON.stringify(key).slice(0, 30), { mode: 0o600 });
    const err = await openNodeKeyRing(db, dir, { clock: manualClock(T0) }).then(() => null, (e: Error) => e.message);
    expect(err).toContain(path);
    expect(err).toMatch(/not valid JSON \(truncated\?\)/);
  });
});
