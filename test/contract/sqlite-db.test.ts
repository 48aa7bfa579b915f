import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDb } from '../../src/adapters/sqlite/sqlite-db.ts';
import { readMigrations } from '../../src/runtime/node-deps.ts';
import { runSqlDbContract } from './sql-db.contract.ts';

const migrations = readMigrations();
runSqlDbContract('node:sqlite in memory', async () => new SqliteDb(':memory:'), migrations);
runSqlDbContract('node:sqlite file', async () => new SqliteDb(join(mkdtempSync(join(tmpdir(), 'regate-sql-')), 'db.sqlite')), migrations);
