/**
 * @module sql-key-ring
 * The signing-key ring kept in the SQL store (`signing_keys`, migration 0003), so that every instance over one
 * database (Node processes, Worker isolates over D1) signs and verifies with the same keys.
 *
 * - Rows hold the public JWK in clear and the private JWK sealed with the key-encryption key (kek.ts). A row
 *   that does not load fails the load: never skipped. The error names every broken row by kid, what is wrong
 *   with it (truncated, unparseable, sealed with another KEK) and the fix (key-load-error.ts).
 * - The verification set is the two newest rows, current first (KeySet's rules).
 * - Every write (`rotate`, `remove`, the clean-up at open) is one `db.batch`: the row change, the bump of the
 *   meta counter `signing_key_epoch`, and a re-read of the table, so the local set is exactly what was
 *   committed and other instances see the epoch move.
 * - `refresh(epoch)` is called with the epoch each request reads anyway. Unchanged, it returns at once (no
 *   I/O); moved, it reloads the table in one SELECT (which reads the epoch too, consistently), shared by the
 *   calls that arrive meanwhile.
 * - Opening an empty table inserts the initial keys (the legacy key files of an install being upgraded, or one
 *   fresh key) only if the table holds no other key, in one batch, then re-reads: instances opening at once
 *   all end with the same set.
 *
 * Lookups (`current`, `publicKey`) are in memory only.
 */
import type { Clock, SqlDb, SqlStatement } from '../ports.ts';
import { bumpSigningKeyEpoch, SIGNING_KEY_EPOCH_KEY } from '../access/epoch.ts';
import {
  generateStoredKey,
  importStoredKey,
  isValidKid,
  KeySet,
  type LoadedKey,
  type SharedKeyRing,
  type SigningKey,
  type StoredKey,
} from './key-ring.ts';
import { KeyDecryptionError, openPrivateJwk, sealPrivateJwk } from './kek.ts';
import { KeyLoadError, type BrokenKeyRow } from './key-load-error.ts';

export interface SqlKeyRing extends SharedKeyRing {
  /** The `signing_key_epoch` the keys in memory were loaded at. */
  epoch(): number;
  /** Reloads the keys when `epoch` differs from `epoch()`; no I/O otherwise. */
  refresh(epoch: number): Promise<void>;
}

export interface SqlKeyRingOptions {
  /**
   * Keys to store when the table is empty (an install's legacy key files), instead of generating one. Used
   * only if no other key is in the table when they are written.
   */
  initialKeys?: StoredKey[];
  /** The database file, named in the fix an error gives (`sqlite3 <file> "DELETE …"`); unknown on D1. */
  databaseFile?: string;
}

interface KeyRow {
  epoch: string;
  kid: string | null;
  created: number | null;
  public_jwk: string | null;
  private_enc: string | null;
}

/** The epoch and every key in one statement (one snapshot); one row with null key columns when empty. */
const LOAD_SQL = `SELECT e.epoch AS epoch, k.kid AS kid, k.created AS created, k.public_jwk AS public_jwk, k.private_enc AS private_enc
  FROM (SELECT COALESCE((SELECT value FROM meta WHERE key = '${SIGNING_KEY_EPOCH_KEY}'), '0') AS epoch) AS e
  LEFT JOIN signing_keys AS k ON 1 = 1`;

/** The current key in the table (KeySet's order: newest, then smallest kid). */
const CURRENT_KID_SQL = 'SELECT kid FROM signing_keys ORDER BY created DESC, kid ASC LIMIT 1';

const DONE: Promise<void> = Promise.resolve();

function publicJwk(jwk: JsonWebKey): string {
  return JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: jwk.x });
}

class SqlRing implements SqlKeyRing {
  readonly #db: SqlDb;
  readonly #clock: Clock;
  readonly #kek: CryptoKey;
  #set: KeySet | undefined;
  #epoch = 0;
  /** Imported keys of the loaded set, by kid: a kid is its key's thumbprint, so a row never changes key. */
  #imported = new Map<string, LoadedKey>();
  /** Loads (reloads and writes) started, in order; the state of a later one is never replaced by an earlier. */
  #started = 0;
  #applied = 0;
  #inflight: { n: number; promise: Promise<void> } | undefined;

  readonly #databaseFile: string | undefined;

  constructor(db: SqlDb, clock: Clock, kek: CryptoKey, databaseFile: string | undefined) {
    this.#db = db;
    this.#clock = clock;
    this.#kek = kek;
    this.#databaseFile = databaseFile;
  }

  #keys(): KeySet {
    if (!this.#set) throw new Error('The signing-key ring is not loaded.');
    return this.#set;
  }

  current(): SigningKey {
    return this.#keys().current();
  }
  publicKey(kid: string): CryptoKey | undefined {
    return this.#keys().publicKey(kid);
  }
  kids(): string[] {
    return this.#keys().kids();
  }
  epoch(): number {
    return this.#epoch;
  }

  refresh(epoch: number): Promise<void> {
    if (epoch === this.#epoch) return DONE;
    return this.#catchUp(epoch);
  }

  async #catchUp(epoch: number): Promise<void> {
    const calledAt = this.#started;
    for (;;) {
      const cur = this.#inflight;
      // A reload started after this call read its epoch: its snapshot is at least that new.
      if (cur && cur.n > calledAt) return cur.promise;
      if (!cur) return this.#reload();
      // An earlier reload may predate the change this caller saw: wait for it, then check.
      await cur.promise.catch(() => {});
      if (this.#epoch >= epoch) return;
    }
  }

  #reload(): Promise<void> {
    const n = ++this.#started;
    const promise = (async () => {
      await this.#apply(n, await this.#db.prepare(LOAD_SQL).all<KeyRow>());
    })().finally(() => {
      if (this.#inflight?.n === n) this.#inflight = undefined;
    });
    this.#inflight = { n, promise };
    return promise;
  }

  /** Runs `statements` and a re-read of the table in one batch; the local set becomes what was committed. */
  async #write(statements: SqlStatement[], known: LoadedKey[] = []): Promise<string[]> {
    const n = ++this.#started;
    const results = await this.#db.batch([...statements, this.#db.prepare(LOAD_SQL)]);
    return this.#apply(n, results[results.length - 1] as unknown as KeyRow[], known);
  }

  /** One row as a key; throws a BrokenKeyRow saying what is wrong with it. */
  async #importRow(row: KeyRow, known: LoadedKey[]): Promise<LoadedKey> {
    const kid = row.kid!;
    const broken = (problem: string, wrongKek = false): BrokenKeyRow => ({ kid, problem, wrongKek });
    if (!isValidKid(kid)) throw broken('its kid is not a valid key id (43 base64url characters, an RFC 7638 thumbprint).');
    const created = Number(row.created);
    const have = this.#imported.get(kid) ?? known.find((k) => k.kid === kid);
    if (have) return { ...have, created };
    let pub: JsonWebKey;
    try {
      pub = JSON.parse(row.public_jwk ?? '') as JsonWebKey;
    } catch {
      throw broken(`its public_jwk is not valid JSON (${(row.public_jwk ?? '').length} characters; truncated or altered).`);
    }
    let jwk: JsonWebKey;
    try {
      jwk = await openPrivateJwk(this.#kek, kid, row.private_enc ?? '');
    } catch (e) {
      if (!(e instanceof KeyDecryptionError)) throw e;
      // The list line names the row already: drop the message's own "Signing key <kid>" lead.
      throw broken(e.message.replace(/^Signing key \S+(?: in the database)?:? /, ''), e.problem === 'wrong_kek');
    }
    if (pub.x !== jwk.x) throw broken('its public_jwk and its private part are different keys (the row was altered).');
    try {
      return await importStoredKey({ kid, created, jwk });
    } catch (e) {
      throw broken(`its key does not import: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Makes `rows` (a LOAD_SQL result) the local state, unless a later load was applied meanwhile. */
  async #apply(n: number, rows: KeyRow[], known: LoadedKey[] = []): Promise<string[]> {
    const keyRows = rows.filter((r) => r.kid !== null);
    if (keyRows.length === 0) throw new Error('The signing_keys table is empty: no key to sign or verify with.');
    // Every row is tried, so one error names every broken row, and tells a wrong KEK (no row opens) apart.
    const settled = await Promise.allSettled(keyRows.map((r) => this.#importRow(r, known)));
    const brokenRows = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    for (const b of brokenRows) if (b instanceof Error) throw b; // not a row problem (I/O, a bug): as it is
    if (brokenRows.length > 0) throw new KeyLoadError(brokenRows as BrokenKeyRow[], keyRows.length, this.#databaseFile);
    const loaded = settled.map((r) => (r as PromiseFulfilledResult<LoadedKey>).value);
    const epoch = Number(rows[0]!.epoch ?? 0);
    const set = new KeySet(loaded);
    if (n < this.#applied) return set.dropped;
    this.#applied = n;
    this.#set = set;
    this.#epoch = epoch;
    const kept = new Set(set.kids());
    this.#imported = new Map(loaded.filter((k) => kept.has(k.kid)).map((k) => [k.kid, k]));
    return set.dropped;
  }

  async open(initial: StoredKey[] | undefined): Promise<void> {
    const n = ++this.#started;
    const rows = await this.#db.prepare(LOAD_SQL).all<KeyRow>();
    let dropped: string[];
    if (rows.some((r) => r.kid !== null)) {
      dropped = await this.#apply(n, rows);
    } else {
      const stored = initial?.length ? initial : [await generateStoredKey(this.#clock.now())];
      const known = await Promise.all(stored.map(importStoredKey));
      const kids = known.map((k) => k.kid);
      const inserts = await Promise.all(
        stored.map(async (s, i) =>
          this.#db
            .prepare(
              `INSERT OR IGNORE INTO signing_keys (kid, created, public_jwk, private_enc)
               SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE kid NOT IN (${kids.map(() => '?').join(', ')}))`,
            )
            .bind(kids[i]!, known[i]!.created, publicJwk(s.jwk), await sealPrivateJwk(this.#kek, kids[i]!, s.jwk), ...kids),
        ),
      );
      // Another instance may have won: the re-read in the same batch tells which keys are in the table.
      dropped = await this.#write(inserts, known);
    }
    // More than two keys (legacy files left mid-rotation): drop the ones outside {current, previous}.
    if (dropped.length > 0) {
      await this.#write([
        this.#db.prepare(`DELETE FROM signing_keys WHERE kid IN (${dropped.map(() => '?').join(', ')})`).bind(...dropped),
        bumpSigningKeyEpoch(this.#db),
      ]);
    }
  }

  async rotate(): Promise<string> {
    const stored = await generateStoredKey(this.#clock.now());
    const key = await importStoredKey(stored);
    const sealed = await sealPrivateJwk(this.#kek, key.kid, stored.jwk);
    await this.#write(
      [
        // Strictly newer than every key in the table, so it is current even when the clock has not moved.
        this.#db
          .prepare(
            `INSERT INTO signing_keys (kid, created, public_jwk, private_enc)
             VALUES (?, max(?, (SELECT COALESCE(MAX(created), 0) + 1 FROM signing_keys)), ?, ?)`,
          )
          .bind(key.kid, key.created, publicJwk(stored.jwk), sealed),
        // The key that was current becomes the previous one; any other falls out (its tokens stop verifying).
        this.#db
          .prepare(
            `DELETE FROM signing_keys WHERE kid <> ? AND kid NOT IN
               (SELECT kid FROM signing_keys WHERE kid <> ? ORDER BY created DESC, kid ASC LIMIT 1)`,
          )
          .bind(key.kid, key.kid),
        bumpSigningKeyEpoch(this.#db),
      ],
      [key],
    );
    return key.kid;
  }

  async remove(kid: string): Promise<void> {
    if (!isValidKid(kid) || !this.kids().includes(kid)) return;
    if (this.current().kid === kid) throw new Error('The current signing key cannot be removed; rotate first.');
    await this.#write([
      // Never the table's current key, even if this instance has not seen a rotation yet.
      this.#db.prepare(`DELETE FROM signing_keys WHERE kid = ? AND kid <> (${CURRENT_KID_SQL})`).bind(kid),
      bumpSigningKeyEpoch(this.#db),
    ]);
    if (this.kids()[0] === kid) throw new Error('The current signing key cannot be removed; rotate first.');
  }
}

/**
 * Opens the ring over `db` (migration 0003 applied), generating the first key if the table is empty.
 * @example const ring = await openSqlKeyRing(db, clock, await importKek(parseKek(env.REGATE_KEY_ENCRYPTION_KEY)))
 */
export async function openSqlKeyRing(db: SqlDb, clock: Clock, kek: CryptoKey, opts: SqlKeyRingOptions = {}): Promise<SqlKeyRing> {
  const ring = new SqlRing(db, clock, kek, opts.databaseFile);
  await ring.open(opts.initialKeys);
  return ring;
}
