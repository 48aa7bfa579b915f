/**
 * @module epoch
 * Epochs: counters in `meta` that move in the same batch as any change that can alter who is who or who may
 * do what. Caches (authenticated tokens, principals, permission decisions, the signing-key ring) record the
 * epochs they were filled under and are ignored once one has moved.
 *
 * - `acl_global_epoch`: group membership, principal deactivation or deletion: anyone's level may change.
 * - `auth_epoch`: a token was revoked.
 * - `signing_key_epoch`: the signing-key ring changed (rotation, removal).
 * - each model's own `acl_epoch` column: its grants (or root's, which move every model's).
 *
 * Every request reads the three workspace epochs in one statement (`readEpochs`), so a change made on any
 * instance sharing the database is seen by the next request everywhere, at the cost of one indexed read.
 */
import type { SqlDb, SqlStatement } from '../ports.ts';

export const GLOBAL_EPOCH_KEY = 'acl_global_epoch';
export const AUTH_EPOCH_KEY = 'auth_epoch';
export const SIGNING_KEY_EPOCH_KEY = 'signing_key_epoch';

/** The workspace epochs as one request saw them. */
export interface Epochs {
  global: number;
  auth: number;
  keys: number;
}

function bump(db: SqlDb, key: string): SqlStatement {
  return db.prepare(
    `INSERT INTO meta (key, value) VALUES ('${key}', '1')
     ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)`,
  );
}

/** A statement to put in the same batch as a membership or principal change. */
export const bumpGlobalEpoch = (db: SqlDb): SqlStatement => bump(db, GLOBAL_EPOCH_KEY);
/** A statement to put in the same batch as a token revocation. */
export const bumpAuthEpoch = (db: SqlDb): SqlStatement => bump(db, AUTH_EPOCH_KEY);
/** A statement to put in the same batch as a signing-key change. */
export const bumpSigningKeyEpoch = (db: SqlDb): SqlStatement => bump(db, SIGNING_KEY_EPOCH_KEY);

export const EPOCHS_SQL = `SELECT
  (SELECT value FROM meta WHERE key = '${GLOBAL_EPOCH_KEY}') AS g,
  (SELECT value FROM meta WHERE key = '${AUTH_EPOCH_KEY}') AS a,
  (SELECT value FROM meta WHERE key = '${SIGNING_KEY_EPOCH_KEY}') AS k`;

/** The three workspace epochs in one statement. @example const e = await readEpochs(db) */
export async function readEpochs(db: SqlDb): Promise<Epochs> {
  const r = await db.prepare(EPOCHS_SQL).first<{ g: string | null; a: string | null; k: string | null }>();
  return { global: Number(r?.g ?? 0), auth: Number(r?.a ?? 0), keys: Number(r?.k ?? 0) };
}
