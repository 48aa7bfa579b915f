/**
 * @module epoch
 * ACL epochs: counters that move whenever a permission input changes. A model's `acl_epoch` moves with its
 * grants; the global epoch (in `meta`) moves with group membership and principal deletion, which can change
 * anyone's level on any model. Cached decisions record both and are ignored once either has moved.
 */
import type { SqlDb, SqlStatement } from '../ports.ts';

export const GLOBAL_EPOCH_KEY = 'acl_global_epoch';

/** A statement to put in the same batch as a membership change. */
export function bumpGlobalEpoch(db: SqlDb): SqlStatement {
  return db
    .prepare(
      `INSERT INTO meta (key, value) VALUES ('${GLOBAL_EPOCH_KEY}', '1')
       ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)`,
    );
}

export async function globalEpoch(db: SqlDb): Promise<number> {
  const row = await db.prepare(`SELECT value FROM meta WHERE key = '${GLOBAL_EPOCH_KEY}'`).first<{ value: string }>();
  return row ? Number(row.value) : 0;
}
