/**
 * @module admin
 * Operator commands on a data directory, for when the API cannot help: `npm run admin -- reset-token
 * [--data-dir DIR] [--user NAME]`. Works with regate stopped, and while it runs on the same directory (SQLite
 * in WAL mode; the change is one transaction, waiting for a busy writer up to the busy timeout). The data
 * directory is --data-dir, else REGATE_DATA_DIR, else .regate, as for `npm start`. Exit codes: 0 done,
 * 1 failed, 2 usage.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SqliteDb } from '../src/adapters/sqlite/sqlite-db.ts';
import { EpochNotice } from '../src/adapters/sqlite/epoch-notice.ts';
import { systemClock } from '../src/core/clock.ts';
import { FIRST_ADMIN } from '../src/core/bootstrap.ts';
import { resetAdminToken } from '../src/core/identity/recovery.ts';

const USAGE = `usage: npm run admin -- reset-token [--data-dir DIR] [--user NAME]

  reset-token   make user NAME (default '${FIRST_ADMIN}'; created if missing) active and a member of admins,
                and print a new token for it, once. Nothing is revoked.
  --data-dir    the regate data directory (default: $REGATE_DATA_DIR, else .regate)
`;

function usage(message?: string): never {
  process.stderr.write(`${message ? `${message}\n` : ''}${USAGE}`);
  process.exit(2);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { 'data-dir': { type: 'string' }, user: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    usage(e instanceof Error ? e.message : String(e));
  }
  const { values, positionals } = parsed;
  if (values.help) usage();
  if (positionals.length !== 1 || positionals[0] !== 'reset-token') usage(`unknown command: ${positionals.join(' ') || '(none)'}`);
  const dataDir = resolve(values['data-dir'] ?? process.env.REGATE_DATA_DIR ?? '.regate');
  const userName = values.user ?? FIRST_ADMIN;
  if (userName.length < 1 || userName.length > 256 || /[\x00-\x1f\x7f]/.test(userName)) usage('--user: 1 to 256 printable characters');
  const dbPath = join(dataDir, 'regate.sqlite');
  // Never create a data directory: a new one gets its admin from `npm start` (and REGATE_ADMIN_TOKEN).
  if (!existsSync(dbPath)) {
    process.stderr.write(`no regate database at ${dbPath}: start regate once on ${dataDir} (npm start) to create it.\n`);
    process.exit(1);
  }
  const db = new SqliteDb(dbPath);
  // Announce the change to running instances (they read their epochs again at their next request).
  const notice = new EpochNotice(db, `${dbPath}-epochs`, systemClock);
  try {
    const r = await resetAdminToken(db, systemClock, userName);
    const what = r.created ? 'created' : r.reactivated ? 'reactivated' : 'kept';
    process.stdout.write(
      `Admin user '${r.userName}' in ${dataDir}: ${what}, active and a member of admins.\n` +
        `Its new token, shown only this once (keep it): ${r.token}\n`,
    );
  } finally {
    notice.close();
    db.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`admin: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
