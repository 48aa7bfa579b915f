/**
 * The signing-key ring in the SQL store, with two instances (two SqliteDb connections) over one database file:
 * a rotation or removal on one is seen by the other at its next refresh with the epoch; concurrent first
 * opens agree; private keys are stored only sealed with the KEK; the KEK file and legacy key files on Node.
 */
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteDb } from '../../src/adapters/sqlite/sqlite-db.ts';
import { applyMigrations } from '../../src/core/migrate.ts';
import { createNodeDeps, readMigrations } from '../../src/runtime/node-deps.ts';
import { manualClock } from '../../src/core/clock.ts';
import { readEpochs } from '../../src/core/access/epoch.ts';
import { openSqlKeyRing, type SqlKeyRing } from '../../src/core/artifacts/sql-key-ring.ts';
import { generateKekText, importKek, KEK_ENV, parseKek } from '../../src/core/artifacts/kek.ts';
import { generateStoredKey, type StoredKey } from '../../src/core/artifacts/key-ring.ts';
import { signDownloadToken, verifyDownloadToken } from '../../src/core/artifacts/signed-url.ts';
import { loadNodeKek } from '../../src/adapters/fs/fs-kek.ts';
import { openNodeKeyRing } from '../../src/adapters/fs/fs-key-ring.ts';
import { createMemoryKeyRing } from '../../src/adapters/memory/memory-key-ring.ts';
import { countingDb } from '../helpers/counting-db.ts';

const GRANT = { sub: '1', mid: 'abc', ver: '1', p: 'model/MLmodel', et: '"e1"', sz: 10 };
const T0 = Date.UTC(2026, 0, 1);

const dirs: string[] = [];
const dbs: SqliteDb[] = [];
afterEach(async () => {
  for (const db of dbs.splice(0)) db.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'regate-sqlkeys-'));
  dirs.push(d);
  return d;
}

/** Two connections (two instances) over one migrated database file. */
async function twoInstances() {
  const dir = await tempDir();
  const path = join(dir, 'regate.sqlite');
  const a = new SqliteDb(path);
  dbs.push(a);
  await applyMigrations(a, readMigrations(), T0);
  const b = new SqliteDb(path);
  dbs.push(b);
  return { dir, path, a, b };
}

const newKek = async () => importKek(parseKek(generateKekText()));
const keyEpoch = async (db: SqliteDb) => (await readEpochs(db)).keys;
const privateD = async (ring: SqlKeyRing) => ((await crypto.subtle.exportKey('jwk', ring.current().privateKey)) as JsonWebKey).d!;

async function writeLegacyKey(dir: string, key: StoredKey, mode = 0o600): Promise<void> {
  const fh = await open(join(dir, `${key.kid}.json`), 'w', mode);
  await fh.writeFile(`${JSON.stringify(key)}\n`);
  await fh.close();
  await chmod(join(dir, `${key.kid}.json`), mode);
}

describe('SqlKeyRing across two instances over one database', () => {
  it('a rotation on A: after refresh with the epoch, B signs with the new key and still verifies the old', async () => {
    const { a, b } = await twoInstances();
    const clock = manualClock(T0);
    const kek = await newKek();
    const ringA = await openSqlKeyRing(a, clock, kek);
    const counted = countingDb(b);
    const ringB = await openSqlKeyRing(counted, clock, kek);
    const k1 = ringA.current().kid;
    expect(ringB.kids()).toEqual([k1]);
    const old = await signDownloadToken(ringB, clock, GRANT);

    clock.advance(1000);
    const k2 = await ringA.rotate();
    expect(ringA.kids()).toEqual([k2, k1]);
    expect(ringA.epoch()).toBe(await keyEpoch(a));

    // Same epoch: no I/O at all.
    counted.reset();
    await ringB.refresh(ringB.epoch());
    expect(counted.log).toEqual([]);
    expect(ringB.current().kid).toBe(k1);

    const epoch = await keyEpoch(b);
    expect(epoch).not.toBe(ringB.epoch());
    // Concurrent refreshes share one reload: one SELECT.
    await Promise.all([ringB.refresh(epoch), ringB.refresh(epoch), ringB.refresh(epoch)]);
    expect(counted.log).toHaveLength(1);
    expect(ringB.epoch()).toBe(epoch);
    expect(ringB.kids()).toEqual([k2, k1]);

    const fresh = await signDownloadToken(ringB, clock, GRANT);
    expect(JSON.parse(atob(fresh.token.split('.')[0]!.replace(/-/g, '+').replace(/_/g, '/'))).kid).toBe(k2);
    expect((await verifyDownloadToken(fresh.token, ringA, clock)).ok).toBe(true);
    expect((await verifyDownloadToken(old.token, ringB, clock)).ok).toBe(true);
  });

  it('a removal on A: B stops verifying the removed key at its next refresh', async () => {
    const { a, b } = await twoInstances();
    const clock = manualClock(T0);
    const kek = await newKek();
    const ringA = await openSqlKeyRing(a, clock, kek);
    const ringB = await openSqlKeyRing(b, clock, kek);
    const k1 = ringA.current().kid;
    const old = await signDownloadToken(ringA, clock, GRANT);
    clock.advance(1000);
    const k2 = await ringA.rotate();
    await ringB.refresh(await keyEpoch(b));
    expect((await verifyDownloadToken(old.token, ringB, clock)).ok).toBe(true);

    await expect(ringA.remove(k2)).rejects.toThrow(/current signing key cannot be removed/);
    await ringA.remove(k1);
    expect(ringA.kids()).toEqual([k2]);
    expect((await verifyDownloadToken(old.token, ringA, clock)).ok).toBe(false);
    // B has not refreshed yet; the next request reads the moved epoch and refreshes first.
    await ringB.refresh(await keyEpoch(b));
    expect(ringB.kids()).toEqual([k2]);
    expect(await verifyDownloadToken(old.token, ringB, clock)).toEqual({ ok: false, reason: 'unknown_key' });
    expect((await b.prepare('SELECT kid FROM signing_keys').all<{ kid: string }>()).map((r) => r.kid)).toEqual([k2]);
  });

  it('rotation keeps {current, previous}: the key falling out is deleted, even from a stale instance', async () => {
    const { a, b } = await twoInstances();
    const clock = manualClock(T0);
    const kek = await newKek();
    const ringA = await openSqlKeyRing(a, clock, kek);
    const ringB = await openSqlKeyRing(b, clock, kek);
    const k1 = ringA.current().kid;
    // The clock does not move: the new key is still current (created is made strictly newer).
    const k2 = await ringA.rotate();
    expect(ringA.current().kid).toBe(k2);
    // B has not refreshed (it still holds {k1}) and rotates: the table keeps B's new key and k2 only.
    const k3 = await ringB.rotate();
    expect(ringB.kids()).toEqual([k3, k2]);
    const rows = await a.prepare('SELECT kid FROM signing_keys ORDER BY created DESC').all<{ kid: string }>();
    expect(rows.map((r) => r.kid)).toEqual([k3, k2]);
    await ringA.refresh(await keyEpoch(a));
    expect(ringA.kids()).toEqual([k3, k2]);
    expect(ringA.publicKey(k1)).toBeUndefined();
  });

  it('two instances opening an empty table at once end with one and the same current key', async () => {
    const { a, b } = await twoInstances();
    const clock = manualClock(T0);
    const kek = await newKek();
    const [ringA, ringB] = await Promise.all([openSqlKeyRing(a, clock, kek), openSqlKeyRing(b, clock, kek)]);
    expect(ringA.kids()).toHaveLength(1);
    expect(ringB.kids()).toEqual(ringA.kids());
    expect(await a.prepare('SELECT COUNT(*) AS n FROM signing_keys').first()).toEqual({ n: 1 });
    const t = await signDownloadToken(ringA, clock, GRANT);
    expect((await verifyDownloadToken(t.token, ringB, clock)).ok).toBe(true);
  });

  it('fails closed, at open and at refresh, when a row does not decrypt with the KEK', async () => {
    const { a, b } = await twoInstances();
    const clock = manualClock(T0);
    const kek = await newKek();
    const ringA = await openSqlKeyRing(a, clock, kek);
    await expect(openSqlKeyRing(b, clock, await newKek())).rejects.toThrow(/does not decrypt with the configured key-encryption key/);
    const ringB = await openSqlKeyRing(b, clock, kek);
    const k1 = ringA.current().kid;
    clock.advance(1000);
    const k2 = await ringA.rotate();
    // A sealed key moved to another row does not open (the kid is authenticated data): refresh refuses.
    await a.prepare('UPDATE signing_keys SET private_enc = (SELECT private_enc FROM signing_keys WHERE kid = ?) WHERE kid = ?').bind(k1, k2).run();
    await expect(ringB.refresh(await keyEpoch(b))).rejects.toThrow(new RegExp(`signing_keys row kid='${k2}': does not decrypt`));
    await expect(openSqlKeyRing(b, clock, kek)).rejects.toThrow(/does not decrypt/);
    await a.prepare("UPDATE signing_keys SET private_enc = replace(private_enc, 'v1.', 'v2.') WHERE kid = ?").bind(k1).run();
    await expect(openSqlKeyRing(b, clock, kek)).rejects.toThrow(/not in the v1 sealed format/);
  });

  it('never stores a private key in plaintext: the JWK d appears nowhere in the database files', async () => {
    const { a, b, path } = await twoInstances();
    const clock = manualClock(T0);
    const kek = await newKek();
    const ringA = await openSqlKeyRing(a, clock, kek);
    const ds = [await privateD(ringA)];
    await ringA.rotate();
    ds.push(await privateD(ringA));
    const ringB = await openSqlKeyRing(b, clock, kek);
    expect(await privateD(ringB)).toBe(ds[1]);
    const x = JSON.parse((await a.prepare('SELECT public_jwk FROM signing_keys LIMIT 1').first<{ public_jwk: string }>())!.public_jwk).x;
    const bytes = Buffer.concat([path, `${path}-wal`].filter(existsSync).map((p) => readFileSync(p)));
    expect(bytes.includes(x)).toBe(true); // the search does find what is there in clear
    for (const d of ds) {
      expect(bytes.includes(d)).toBe(false);
      expect(bytes.includes(Buffer.from(d, 'base64url'))).toBe(false);
    }
    const enc = await a.prepare('SELECT private_enc FROM signing_keys').all<{ private_enc: string }>();
    for (const r of enc) expect(r.private_enc).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
  });
});

describe('KEK on Node', () => {
  it('generates <dataDir>/keys/kek once (0600 in a 0700 directory), reuses it, and refuses it when others can read it', async () => {
    const d = await tempDir();
    const k1 = await loadNodeKek(d, {});
    expect((await stat(join(d, 'keys', 'kek'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(d, 'keys'))).mode & 0o777).toBe(0o700);
    expect(parseKek(readFileSync(join(d, 'keys', 'kek'), 'utf8'))).toHaveLength(32);
    expect((await readdir(join(d, 'keys'))).sort()).toEqual(['kek']);
    // The same key comes back: what one sealed the other opens.
    const k2 = await loadNodeKek(d, {});
    const iv = new Uint8Array(12);
    const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, k1, new Uint8Array([1, 2, 3]));
    expect(new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, k2, ct))).toEqual(new Uint8Array([1, 2, 3]));
    chmodSync(join(d, 'keys', 'kek'), 0o644);
    await expect(loadNodeKek(d, {})).rejects.toThrow(/readable by others \(mode 644\)/);
  });

  it('takes REGATE_KEY_ENCRYPTION_KEY (base64 or base64url, 32 bytes) instead of a file', async () => {
    const d = await tempDir();
    const text = generateKekText();
    await loadNodeKek(d, { [KEK_ENV]: text });
    expect(existsSync(join(d, 'keys', 'kek'))).toBe(false);
    const std = Buffer.from(parseKek(text)).toString('base64');
    expect(parseKek(std)).toEqual(parseKek(text));
    expect(() => parseKek(Buffer.alloc(16).toString('base64'))).toThrow(/exactly 32 bytes/);
    expect(() => parseKek('not base64!')).toThrow(/not base64/);
  });

  it('two data-dir instances share keys through the database and the KEK file (createNodeDeps)', async () => {
    const d = join(await tempDir(), 'data');
    const clock = manualClock(T0);
    const logger = { info() {}, warn() {}, error() {} };
    const one = await createNodeDeps({ dataDir: d, clock, logger });
    dbs.push(one.db);
    const two = await createNodeDeps({ dataDir: d, clock, logger });
    dbs.push(two.db);
    expect(two.keyRing.kids()).toEqual(one.keyRing.kids());
    clock.advance(1000);
    const k2 = await one.deps.keyRing.rotate();
    await two.deps.keyRing.refresh((await readEpochs(two.db)).keys);
    expect(two.deps.keyRing.current().kid).toBe(k2);
    expect((await readdir(join(d, 'keys'))).sort()).toEqual(['kek']);
  });
});

describe('upgrade from key files', () => {
  it('imports <dataDir>/keys/*.json into an empty table (sealed), keeps issued URIs valid, then deletes the files', async () => {
    const { dir, a, b } = await twoInstances();
    const keys = join(dir, 'keys');
    await mkdir(keys, { mode: 0o700 });
    const clock = manualClock(T0);
    const older = await generateStoredKey(T0 - 3000);
    const prev = await generateStoredKey(T0 - 2000);
    const cur = await generateStoredKey(T0 - 1000);
    for (const k of [older, prev, cur]) await writeLegacyKey(keys, k);
    // URIs issued by the old file ring (same keys) before the upgrade.
    const issuedCur = await signDownloadToken(await createMemoryKeyRing({ clock, keys: [prev, cur] }), clock, GRANT);
    const issuedPrev = await signDownloadToken(await createMemoryKeyRing({ clock, keys: [prev] }), clock, GRANT);

    const ring = await openNodeKeyRing(a, dir, { clock });
    // Three files (a rotation cut short): the two newest are kept, as before.
    expect(ring.kids()).toEqual([cur.kid, prev.kid]);
    expect((await verifyDownloadToken(issuedCur.token, ring, clock)).ok).toBe(true);
    expect((await verifyDownloadToken(issuedPrev.token, ring, clock)).ok).toBe(true);
    expect((await readdir(keys)).sort()).toEqual(['kek']);
    const rows = await a.prepare('SELECT kid, private_enc FROM signing_keys ORDER BY created DESC').all<{ kid: string; private_enc: string }>();
    expect(rows.map((r) => r.kid)).toEqual([cur.kid, prev.kid]);
    for (const r of rows) expect(r.private_enc).not.toContain(cur.jwk.d!);
    // Another instance opening later sees the same set, from the table.
    const other = await openNodeKeyRing(b, dir, { clock });
    expect(other.kids()).toEqual([cur.kid, prev.kid]);
  });

  it('refuses a legacy key file others can read, rather than import it', async () => {
    const { dir, a } = await twoInstances();
    const keys = join(dir, 'keys');
    await mkdir(keys, { mode: 0o700 });
    await writeLegacyKey(keys, await generateStoredKey(T0), 0o644);
    await expect(openNodeKeyRing(a, dir, { clock: manualClock(T0) })).rejects.toThrow(/readable by others/);
    expect(await a.prepare('SELECT COUNT(*) AS n FROM signing_keys').first()).toEqual({ n: 0 });
  });
});
