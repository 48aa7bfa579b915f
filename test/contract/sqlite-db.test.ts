import { manualClock } from '../../src/core/clock.ts';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { BUSY_TIMEOUT_MS, LOCK_WAIT_MS, SqliteDb } from '../../src/adapters/sqlite/sqlite-db.ts';
import { SqlError } from '../../src/core/sql-errors.ts';
import { DiskReserve } from '../../src/adapters/sqlite/disk-reserve.ts';
import { readMigrations } from '../../src/runtime/node-deps.ts';
import { runSqlDbContract } from './sql-db.contract.ts';

const migrations = readMigrations();
runSqlDbContract('node:sqlite in memory', async () => new SqliteDb(':memory:'), migrations);
runSqlDbContract('node:sqlite file', async () => new SqliteDb(join(mkdtempSync(join(tmpdir(), 'regate-sql-')), 'db.sqlite')), migrations);

/**
 * The node:sqlite adapter's lock and full-disk policy (items 4 and 5): another connection holding the write
 * lock neither blocks reads nor freezes the event loop, and a write gives up fast with SqlError('busy'); a
 * full database is SqlError('full'), and a batch SQLite rolled back itself surfaces that error, not ROLLBACK's.
 */
describe('SqliteDb locks and full disk', () => {
  const file = () => join(mkdtempSync(join(tmpdir(), 'regate-sql-')), 'db.sqlite');

  it('reads go on and the event loop stays free while another connection holds the write lock; writes fail fast as busy', async () => {
    const path = file();
    const db = new SqliteDb(path, { reserveBytes: 0 });
    await db.prepare('CREATE TABLE t (x INTEGER)').run();
    await db.prepare('INSERT INTO t (x) VALUES (1)').run();
    const peer = new DatabaseSync(path);
    peer.exec('BEGIN IMMEDIATE');
    try {
      const t0 = performance.now();
      expect(await db.prepare('SELECT COUNT(*) AS n FROM t').first()).toEqual({ n: 1 });
      expect(performance.now() - t0).toBeLessThan(50);

      // A timer due in 5 ms must fire while the write waits: the wait is not a synchronous busy loop.
      let timerLag = Infinity;
      const due = performance.now() + 5;
      const timer = new Promise<void>((r) => setTimeout(() => ((timerLag = performance.now() - due), r()), 5));
      const t1 = performance.now();
      const write = db.prepare('INSERT INTO t (x) VALUES (2)').run();
      await timer;
      const err = await write.catch((e: unknown) => e);
      const took = performance.now() - t1;
      expect(err).toBeInstanceOf(SqlError);
      expect((err as SqlError).kind).toBe('busy');
      expect(took).toBeGreaterThanOrEqual(LOCK_WAIT_MS - 5);
      expect(took).toBeLessThan(1000);
      expect(timerLag).toBeLessThan(BUSY_TIMEOUT_MS + 40);

      const batch = await db.batch([db.prepare('INSERT INTO t (x) VALUES (3)')]).catch((e: unknown) => e);
      expect((batch as SqlError).kind).toBe('busy');
      expect(db.db.isTransaction).toBe(false);
    } finally {
      peer.exec('ROLLBACK');
      peer.close();
    }
    await db.prepare('INSERT INTO t (x) VALUES (4)').run();
    expect(await db.prepare('SELECT COUNT(*) AS n FROM t').first()).toEqual({ n: 2 });
  });

  it('a write waits out a lock released within the wait', async () => {
    const path = file();
    const db = new SqliteDb(path, { reserveBytes: 0 });
    await db.prepare('CREATE TABLE t (x INTEGER)').run();
    const peer = new DatabaseSync(path);
    peer.exec('BEGIN IMMEDIATE');
    setTimeout(() => peer.exec('COMMIT'), 30);
    await db.batch([db.prepare('INSERT INTO t (x) VALUES (1)')]);
    peer.close();
    expect(await db.prepare('SELECT COUNT(*) AS n FROM t').first()).toEqual({ n: 1 });
  });

  it('a full database is SqlError full, in a statement and in a batch, and the batch leaves no transaction', async () => {
    const db = new SqliteDb(file(), { reserveBytes: 0 });
    await db.prepare('CREATE TABLE t (x TEXT)').run();
    expect(db.reserve).toBeUndefined();
    const pages = (await db.prepare('PRAGMA page_count').first<{ page_count: number }>())!.page_count;
    await db.prepare(`PRAGMA max_page_count = ${pages + 2}`).first();
    const big = 'x'.repeat(3000);
    const err = await (async () => {
      for (let i = 0; i < 100; i++) await db.prepare('INSERT INTO t (x) VALUES (?)').bind(big).run();
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SqlError);
    expect((err as SqlError).kind).toBe('full');
    const batchErr = await db.batch([db.prepare('INSERT INTO t (x) VALUES (?)').bind(big), db.prepare('INSERT INTO t (x) VALUES (?)').bind(big)]).catch((e: unknown) => e);
    expect((batchErr as SqlError).kind).toBe('full');
    expect(db.db.isTransaction).toBe(false);
    // Only deletes may spend the reserve.
    expect(db.reserve).toBeUndefined();
    // Deletes need no new pages: they still commit.
    await db.batch([db.prepare('DELETE FROM t')]);
    expect(await db.prepare('SELECT COUNT(*) AS n FROM t').first()).toEqual({ n: 0 });
  });
});

describe('DiskReserve', () => {
  it('a file database keeps a reserve file; a full disk under an insert does not spend it', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'regate-sql-')), 'db.sqlite');
    const db = new SqliteDb(path, { reserveBytes: 64 * 1024 });
    await db.reserve!.restore();
    expect(statSync(`${path}-reserve`).size).toBe(64 * 1024);
    expect(db.reserve!.held).toBe(true);
    await db.prepare('CREATE TABLE t (x TEXT)').run();
    const pages = (await db.prepare('PRAGMA page_count').first<{ page_count: number }>())!.page_count;
    await db.prepare(`PRAGMA max_page_count = ${pages + 1}`).first();
    const err = await db.batch([db.prepare('INSERT INTO t (x) VALUES (?)').bind('x'.repeat(20_000))]).catch((e: unknown) => e);
    expect((err as SqlError).kind).toBe('full');
    expect(db.reserve!.held).toBe(true);
    expect(existsSync(`${path}-reserve`)).toBe(true);
  });

  it('is given up once and written back when there is room, no sooner than its retry interval', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'regate-reserve-')), 'r');
    const r = new DiskReserve(path, 4096, 0);
    await r.restore();
    expect(statSync(path).size).toBe(4096);
    expect(r.spend()).toBe(true);
    expect(existsSync(path)).toBe(false);
    expect(r.spend()).toBe(false);
    await r.restore();
    expect(statSync(path).size).toBe(4096);
    expect(r.held).toBe(true);
    const clock = manualClock(1_000_000);
    const slow = new DiskReserve(`${path}2`, 4096, 60_000, clock);
    await slow.restore();
    expect(slow.spend()).toBe(true);
    await slow.restore();
    expect(existsSync(`${path}2`)).toBe(false);
    clock.advance(59_999);
    await slow.restore();
    expect(existsSync(`${path}2`)).toBe(false);
    clock.advance(1);
    await slow.restore();
    expect(statSync(`${path}2`).size).toBe(4096);
  });
});
