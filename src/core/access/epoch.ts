/**
 * @module epoch
 * Epochs: counters in `meta` that move in the same batch as any change that can alter who is who or who may
 * do what. Caches (authenticated tokens, principals, permission decisions, the signing-key ring) record the
 * epochs they were filled under and are ignored once one has moved.
 *
 * - `acl_global_epoch`: group membership, principal deactivation or deletion: anyone's level may change.
 * - `auth_epoch`: a token was revoked.
 * - `signing_key_epoch`: the signing-key ring changed (rotation, removal).
 * - `data_epoch`: any write to the registry tables cached reads come from (models, tags, versions, grants,
 *   artifact rows), moved by triggers (migration 0009) inside the writing transaction.
 * - each model's own `acl_epoch` column: its grants (or root's, which move every model's).
 *
 * Every request reads the workspace epochs in one statement (`readEpochs`), so a change made on any instance
 * sharing the database is seen by the next request everywhere, at the cost of one indexed read. On Node the
 * runtime may answer from memory instead, as long as a change is still seen at once (`EpochSource`,
 * adapters/sqlite/epoch-notice.ts).
 */
import type { SqlDb, SqlStatement } from '../ports.ts';

export const GLOBAL_EPOCH_KEY = 'acl_global_epoch';
export const AUTH_EPOCH_KEY = 'auth_epoch';
export const SIGNING_KEY_EPOCH_KEY = 'signing_key_epoch';
export const DATA_EPOCH_KEY = 'data_epoch';

/** The workspace epochs as one request saw them. */
export interface Epochs {
  global: number;
  auth: number;
  keys: number;
  data: number;
}

/** Where a request gets the current epochs: the database every time, or a runtime's faithful stand-in. */
export type EpochSource = () => Promise<Epochs>;

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
  (SELECT value FROM meta WHERE key = '${SIGNING_KEY_EPOCH_KEY}') AS k,
  (SELECT value FROM meta WHERE key = '${DATA_EPOCH_KEY}') AS d`;

type EpochsRow = { g: string | null; a: string | null; k: string | null; d: string | null };

/** The epochs of one row of EPOCHS_SQL. */
export function epochsOf(r: EpochsRow | null | undefined): Epochs {
  return { global: Number(r?.g ?? 0), auth: Number(r?.a ?? 0), keys: Number(r?.k ?? 0), data: Number(r?.d ?? 0) };
}

/** Whether two readings are the same. */
export function sameEpochs(a: Epochs, b: Epochs): boolean {
  return a.global === b.global && a.auth === b.auth && a.keys === b.keys && a.data === b.data;
}

/** The workspace epochs in one statement. @example const e = await readEpochs(db) */
export async function readEpochs(db: SqlDb): Promise<Epochs> {
  return epochsOf(await db.prepare(EPOCHS_SQL).first<EpochsRow>());
}
