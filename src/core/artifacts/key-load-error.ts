/**
 * @module key-load-error
 * The error the signing-key ring fails with when rows of `signing_keys` do not load. It is read by an operator
 * whose regate does not start, so it says, for every broken row, which one (table and kid) and what is wrong
 * with it, and then how to fix it:
 *
 * - some rows broken (the KEK is right, since the others open): delete those rows, then start and rotate;
 * - no row opens with the KEK (and none is otherwise damaged): the KEK is not the one that sealed them, so
 *   restore it; or start over with new keys by emptying the table (issued download URIs stop verifying).
 *
 * An empty table is not an error at start: regate makes a new key.
 */
import { KEK_ENV } from './kek.ts';

export interface BrokenKeyRow {
  kid: string;
  /** What is wrong, as a sentence. */
  problem: string;
  /** The row is intact as far as can be told but its seal does not open with this KEK. */
  wrongKek: boolean;
}

const ROTATE = 'POST /api/2.0/regate/signing-keys/rotate';

/** A kid as shown in the message: quoted, cut short, with no control characters. */
function shown(kid: string): string {
  const clean = kid.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
}

/** How to run `sql` against the database: the sqlite3 command when the file is known. */
function command(sql: string, databaseFile: string | undefined): string {
  return databaseFile !== undefined
    ? `sqlite3 ${databaseFile} "${sql}"`
    : `run ${sql} on the database (sqlite3 <file>, or npx wrangler d1 execute <database> --remote --command "${sql}")`;
}

export class KeyLoadError extends Error {
  override name = 'KeyLoadError';
  readonly rows: BrokenKeyRow[];

  constructor(rows: BrokenKeyRow[], total: number, databaseFile: string | undefined) {
    super(KeyLoadError.describe(rows, total, databaseFile));
    this.rows = rows;
  }

  static describe(rows: BrokenKeyRow[], total: number, databaseFile: string | undefined): string {
    const list = rows.map((r) => `  - signing_keys row kid='${shown(r.kid)}': ${r.problem}`).join('\n');
    const kek = `the key-encryption key (${KEK_ENV}, or <dataDir>/keys/kek on Node)`;
    if (rows.length === total && rows.every((r) => r.wrongKek)) {
      return (
        `None of the ${total} signing keys in the signing_keys table decrypts with the configured key-encryption key:\n${list}\n` +
        `Fix: restore ${kek} that sealed them (from a backup, or the value the other instances use). ` +
        `To start over with new keys instead (every download URI already issued stops verifying), empty the table: ` +
        `${command('DELETE FROM signing_keys', databaseFile)}; regate makes a new key at its next start.`
      );
    }
    const kids = rows.map((r) => `'${r.kid.replace(/'/g, "''")}'`).join(', ');
    const where = rows.length === 1 ? `kid = ${kids}` : `kid IN (${kids})`;
    return (
      `Cannot load the signing keys: ${rows.length} of the ${total} rows in the signing_keys table ${rows.length === 1 ? 'is' : 'are'} unusable:\n${list}\n` +
      `Fix: delete the broken row${rows.length === 1 ? '' : 's'}: ${command(`DELETE FROM signing_keys WHERE ${where}`, databaseFile)} ` +
      `(download URIs signed with ${rows.length === 1 ? 'that key' : 'those keys'} stop verifying; if no row is left, regate makes a new key), ` +
      `start regate, and rotate the keys (${ROTATE}) so a fresh current key signs from then on. ` +
      `If a row reports that it does not decrypt and you changed ${kek}, restore the old one instead.`
    );
  }
}
