/**
 * The D1 adapter against real D1 (miniflare's workerd): the SqlDb contract every adapter passes, plus what the
 * adapter evens out between D1 and node:sqlite: BLOBs come back as Uint8Array, constraint failures look like
 * node:sqlite's (the core matches some by message), and D1's lock, overload and size-limit errors become
 * SqlError('busy') / SqlError('full').
 */
import { afterAll, describe, expect, it } from 'vitest';
import { D1Db, translateD1Error, type D1Database } from '../../src/adapters/d1/d1-db.ts';
import { SqliteDb } from '../../src/adapters/sqlite/sqlite-db.ts';
import { SqlError } from '../../src/core/sql-errors.ts';
import type { SqlDb } from '../../src/core/ports.ts';
import { readMigrations } from '../../src/runtime/node-deps.ts';
import { miniflareD1Pool } from '../helpers/miniflare-d1.ts';
import { runSqlDbContract } from './sql-db.contract.ts';

const pool = miniflareD1Pool();
afterAll(() => pool.disposeAll());

runSqlDbContract('D1 (miniflare)', pool.make, readMigrations());

/** The error `work` rejects with, for comparing adapters. */
async function failure(work: Promise<unknown>): Promise<Error & { code?: string; errcode?: number; errstr?: string }> {
  const e = await work.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof Error)) throw new Error(`expected a rejection, got ${String(e)}`);
  return e;
}

describe('D1Db evens out D1 and node:sqlite', () => {
  const schema = [
    'CREATE TABLE p (id TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, UNIQUE (kind, name))',
    'CREATE TABLE c (id TEXT PRIMARY KEY, p_id TEXT NOT NULL REFERENCES p (id), n INTEGER CHECK (n > 0))',
  ];
  const setUp = async (db: SqlDb) => {
    for (const s of schema) await db.prepare(s).run();
    await db.prepare("INSERT INTO p (id, kind, name) VALUES ('1', 'user', 'ana')").run();
  };
  const violations: Array<[string, string]> = [
    ['primary key', "INSERT INTO p (id, kind, name) VALUES ('1', 'user', 'x')"],
    ['unique', "INSERT INTO p (id, kind, name) VALUES ('2', 'user', 'ana')"],
    ['not null', "INSERT INTO p (id, kind, name) VALUES ('3', 'user', NULL)"],
    ['foreign key', "INSERT INTO c (id, p_id, n) VALUES ('c', 'nope', 1)"],
    ['check', "INSERT INTO c (id, p_id, n) VALUES ('c', '1', 0)"],
  ];

  it('constraint failures have node:sqlite\'s message, code, errcode and errstr, alone and in a batch', async () => {
    const d1 = await pool.make();
    const sqlite = new SqliteDb(':memory:');
    await setUp(d1);
    await setUp(sqlite);
    for (const [what, sql] of violations) {
      const want = await failure(sqlite.prepare(sql).run());
      const got = await failure(d1.prepare(sql).run());
      expect({ message: got.message, code: got.code, errcode: got.errcode, errstr: got.errstr }, what).toEqual({
        message: want.message,
        code: want.code,
        errcode: want.errcode,
        errstr: want.errstr,
      });
      const inBatch = await failure(d1.batch([d1.prepare("INSERT INTO p (id, kind, name) VALUES ('9', 'user', 'zed')"), d1.prepare(sql)]));
      expect(inBatch.message, what).toBe(want.message);
    }
    // The batch was undone each time.
    expect(await d1.prepare("SELECT COUNT(*) AS n FROM p WHERE id = '9'").first()).toEqual({ n: 0 });
    // What identity/admin-guard.ts matches.
    const taken = await failure(d1.prepare("INSERT INTO p (id, kind, name) VALUES ('2', 'user', 'ana')").run());
    expect(taken.message).toMatch(/^UNIQUE constraint failed: p\.kind, p\.name$/);
  });

  it('other SQL errors stay D1\'s own errors', async () => {
    const d1 = await pool.make();
    const e = await failure(d1.prepare('SELEC 1').all());
    expect(e).not.toBeInstanceOf(SqlError);
    expect(e.message).toMatch(/syntax error/);
  });

  it('returns BLOBs as Uint8Array from first, all and batch, and NULL stays null', async () => {
    const d1 = await pool.make();
    await d1.prepare('CREATE TABLE b (k TEXT, v BLOB)').run();
    await d1.prepare('INSERT INTO b (k, v) VALUES (?, ?), (?, ?)').bind('a', new Uint8Array([7, 0, 255]), 'z', null).run();
    const first = await d1.prepare("SELECT v FROM b WHERE k = 'a'").first<{ v: Uint8Array }>();
    expect(first?.v).toBeInstanceOf(Uint8Array);
    expect(Array.from(first!.v)).toEqual([7, 0, 255]);
    const all = await d1.prepare('SELECT k, v FROM b ORDER BY k').all<{ k: string; v: Uint8Array | null }>();
    expect(all[0]!.v).toBeInstanceOf(Uint8Array);
    expect(all[1]!.v).toBeNull();
    const [rows] = await d1.batch([d1.prepare("SELECT v FROM b WHERE k = 'a'")]);
    expect(rows![0]!.v).toBeInstanceOf(Uint8Array);
    // An empty blob is still a blob.
    await d1.prepare("INSERT INTO b (k, v) VALUES ('e', X'')").run();
    const empty = await d1.prepare("SELECT v FROM b WHERE k = 'e'").first<{ v: Uint8Array }>();
    expect(empty?.v).toBeInstanceOf(Uint8Array);
    expect(empty!.v.length).toBe(0);
  });

  it('an empty batch is [] (D1 itself refuses it), and a batch takes only its own statements', async () => {
    const d1 = await pool.make();
    const raw = await pool.d1();
    await expect(raw.batch([])).rejects.toThrow(/No SQL statements/);
    expect(await d1.batch([])).toEqual([]);
    const other = await pool.make();
    await expect(d1.batch([other.prepare('SELECT 1')])).rejects.toThrow(TypeError);
    await expect(d1.batch([new SqliteDb(':memory:').prepare('SELECT 1')])).rejects.toThrow(TypeError);
  });

  it('a batch is atomic even when a later statement fails at run time, and D1 refuses BEGIN', async () => {
    const d1 = await pool.make();
    await d1.prepare('CREATE TABLE t (x INTEGER PRIMARY KEY)').run();
    await expect(d1.batch([d1.prepare('INSERT INTO t VALUES (1)'), d1.prepare('UPDATE t SET x = x + 1'), d1.prepare('SELECT * FROM missing')])).rejects.toThrow(
      /no such table/,
    );
    expect(await d1.prepare('SELECT COUNT(*) AS n FROM t').first()).toEqual({ n: 0 });
    await expect(d1.prepare('BEGIN').run()).rejects.toThrow();
  });
});

describe('translateD1Error', () => {
  // D1's lock/overload/size messages cannot be provoked in miniflare (one local SQLite, no size limit), so the
  // mapping is checked on the texts D1 and its SQLite produce.
  const busy = [
    'D1_ERROR: database is locked: SQLITE_BUSY',
    'D1_ERROR: database table is locked: SQLITE_LOCKED',
    'D1 DB is overloaded. Requests queued for too long.',
    'D1_ERROR: D1 DB is overloaded. Too many requests queued.',
  ];
  const full = ['D1_ERROR: Exceeded maximum DB size', 'D1_ERROR: database or disk is full: SQLITE_FULL'];
  it.each(busy)('%s → SqlError busy', (msg) => {
    const e = translateD1Error(new Error(msg));
    expect(e).toBeInstanceOf(SqlError);
    expect((e as SqlError).kind).toBe('busy');
    expect((e as SqlError).cause).toBeInstanceOf(Error);
  });
  it.each(full)('%s → SqlError full', (msg) => {
    const e = translateD1Error(new Error(msg));
    expect((e as SqlError).kind).toBe('full');
  });
  it('a constraint message without the extended suffix still becomes a constraint error', () => {
    const e = translateD1Error(new Error('D1_ERROR: UNIQUE constraint failed: t.k: SQLITE_CONSTRAINT')) as Error & { errcode: number };
    expect(e.message).toBe('UNIQUE constraint failed: t.k');
    expect(e.errcode).toBe(19);
  });
  it('busy and full reach the SqlDb caller through statements and batches', async () => {
    const fail = (msg: string) => () => Promise.reject(new Error(msg));
    const stmt = { bind: () => stmt, first: fail('D1 DB is overloaded. Requests queued for too long.'), all: fail('D1_ERROR: Exceeded maximum DB size'), run: fail('D1_ERROR: Exceeded maximum DB size') };
    const fake: D1Database = { prepare: () => stmt as never, batch: fail('D1_ERROR: database is locked: SQLITE_BUSY') };
    const db = new D1Db(fake);
    expect(((await failure(db.prepare('x').first())) as SqlError).kind).toBe('busy');
    expect(((await failure(db.prepare('x').all())) as SqlError).kind).toBe('full');
    expect(((await failure(db.prepare('x').bind('y').run())) as SqlError).kind).toBe('full');
    expect(((await failure(db.batch([db.prepare('x')]))) as SqlError).kind).toBe('busy');
  });
});
