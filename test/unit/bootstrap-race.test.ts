/**
 * Two instances starting at once on one fresh database (two Node processes on a data directory, or two Workers
 * isolates on one D1): exactly one creates the first admin and its token, the other gets no firstAdmin and does
 * not fail; both see the same workspace id. Two real SQLite connections on one file; the interleaving is forced
 * by a wrapper that holds one start before a chosen write until the other has finished.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteDb } from '../../src/adapters/sqlite/sqlite-db.ts';
import { applyMigrations } from '../../src/core/migrate.ts';
import { bootstrap, type BootstrapResult } from '../../src/core/bootstrap.ts';
import { readMigrations } from '../../src/runtime/node-deps.ts';
import { manualClock } from '../../src/core/clock.ts';
import { sha256Hex } from '../../src/core/ids.ts';
import type { SqlDb, SqlStatement, SqlValue } from '../../src/core/ports.ts';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const dirs: string[] = [];
const open: SqliteDb[] = [];

afterEach(() => {
  for (const db of open.splice(0)) db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Two connections on one new file database. */
function twoConnections(): [SqliteDb, SqliteDb] {
  const dir = mkdtempSync(join(tmpdir(), 'regate-bootstrap-race-'));
  dirs.push(dir);
  const path = join(dir, 'regate.sqlite');
  const a = new SqliteDb(path, { reserveBytes: 0 });
  const b = new SqliteDb(path, { reserveBytes: 0 });
  open.push(a, b);
  return [a, b];
}

const READ = /^\s*(SELECT|PRAGMA|WITH)\b/i;

/**
 * A SqlDb that holds the first write whose SQL matches `when` (a batch: any of its statements) until
 * `release()`; `held` resolves once it is holding. Everything else passes straight through.
 */
function pausing(inner: SqliteDb, when: (sql: string) => boolean) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let holding!: () => void;
  const held = new Promise<void>((r) => (holding = r));
  let armed = true;
  const hold = async (sqls: string[]) => {
    if (armed && sqls.some((s) => !READ.test(s) && when(s))) {
      armed = false;
      holding();
      await gate;
    }
  };
  class Stmt implements SqlStatement {
    readonly sql: string;
    readonly inner: SqlStatement;
    constructor(sql: string, inner: SqlStatement) {
      this.sql = sql;
      this.inner = inner;
    }
    bind(...values: SqlValue[]): SqlStatement {
      return new Stmt(this.sql, this.inner.bind(...values));
    }
    first<T>() {
      return this.inner.first<T>();
    }
    all<T>() {
      return this.inner.all<T>();
    }
    async run() {
      await hold([this.sql]);
      return this.inner.run();
    }
  }
  const db: SqlDb = {
    prepare: (sql) => new Stmt(sql, inner.prepare(sql)),
    async batch(statements) {
      await hold(statements.map((s) => (s as Stmt).sql));
      return inner.batch(statements.map((s) => (s as Stmt).inner));
    },
  };
  return { db, held, release };
}

async function counts(db: SqliteDb) {
  const n = async (sql: string) => (await db.prepare(sql).first<{ n: number }>())!.n;
  return {
    admins: await n(`SELECT count(*) AS n FROM group_members m JOIN principals g ON g.id = m.group_id WHERE g.kind = 'group' AND g.name = 'admins'`),
    users: await n(`SELECT count(*) AS n FROM principals WHERE kind = 'user'`),
    groups: await n(`SELECT count(*) AS n FROM principals WHERE kind = 'group'`),
    tokens: await n('SELECT count(*) AS n FROM tokens'),
    userMembers: await n(`SELECT count(*) AS n FROM group_members m JOIN principals g ON g.id = m.group_id WHERE g.name = 'users'`),
  };
}

/** Exactly one start made the first admin, whose token is the one stored and belongs to an admin. */
async function expectOneFirstAdmin(db: SqliteDb, results: BootstrapResult[]) {
  const winners = results.filter((r) => r.firstAdmin);
  expect(winners).toHaveLength(1);
  expect(new Set(results.map((r) => r.workspaceId)).size).toBe(1);
  expect(await counts(db)).toEqual({ admins: 1, users: 1, groups: 2, tokens: 1, userMembers: 1 });
  const hash = await sha256Hex(winners[0]!.firstAdmin!.token);
  const owner = await db
    .prepare(
      `SELECT p.name FROM tokens t JOIN principals p ON p.id = t.principal_id
       JOIN group_members m ON m.member_id = p.id JOIN principals g ON g.id = m.group_id AND g.name = 'admins' WHERE t.hash = ?`,
    )
    .bind(hash)
    .first<{ name: string }>();
  expect(owner).toEqual({ name: 'admin' });
  const claim = await db.prepare(`SELECT value FROM meta WHERE key = 'first_admin'`).first<{ value: string }>();
  const admin = await db.prepare(`SELECT id FROM principals WHERE kind = 'user' AND name = 'admin'`).first<{ id: string }>();
  expect(claim!.value).toBe(admin!.id);
}

describe('bootstrap: two starts at once on a fresh database', () => {
  it('run concurrently (migrations included): one first admin, one token, one workspace id', async () => {
    const [a, b] = twoConnections();
    const clock = manualClock(T0);
    const start = async (db: SqliteDb) => {
      await applyMigrations(db, readMigrations(), T0);
      return bootstrap(db, clock);
    };
    const results = await Promise.all([start(a), start(b)]);
    await expectOneFirstAdmin(a, results);
    // Every migration recorded once.
    const names = await a.prepare('SELECT name FROM d1_migrations ORDER BY name').all<{ name: string }>();
    expect(names.map((r) => r.name)).toEqual(readMigrations().map((m) => m.name).sort());
  });

  it('one start held before its first write while the other runs through', async () => {
    const [a, b] = twoConnections();
    await applyMigrations(a, readMigrations(), T0);
    const clock = manualClock(T0);
    const p = pausing(a, () => true);
    const first = bootstrap(p.db, clock);
    await p.held;
    const second = await bootstrap(b, clock);
    p.release();
    await expectOneFirstAdmin(a, [await first, second]);
    expect(second.firstAdmin).toBeDefined();
  });

  it('one start held after all its reads, just before it claims the first admin', async () => {
    const [a, b] = twoConnections();
    await applyMigrations(a, readMigrations(), T0);
    const clock = manualClock(T0);
    const p = pausing(a, (sql) => sql.includes('first_admin'));
    const first = bootstrap(p.db, clock);
    await p.held;
    const second = await bootstrap(b, clock);
    p.release();
    await expectOneFirstAdmin(a, [await first, second]);
  });

  it('both given the same REGATE_ADMIN_TOKEN: one token row, and that token is the admin’s', async () => {
    const [a, b] = twoConnections();
    await applyMigrations(a, readMigrations(), T0);
    const clock = manualClock(T0);
    const secret = 'dapi-shared-admin-token-0123456789';
    const p = pausing(a, (sql) => sql.includes('first_admin'));
    const first = bootstrap(p.db, clock, { adminToken: secret });
    await p.held;
    const second = await bootstrap(b, clock, { adminToken: secret });
    p.release();
    const results = [await first, second];
    await expectOneFirstAdmin(a, results);
    expect(results.find((r) => r.firstAdmin)!.firstAdmin!.token).toBe(secret);
    // And concurrently, on another fresh database.
    const [c, d] = twoConnections();
    await applyMigrations(c, readMigrations(), T0);
    await expectOneFirstAdmin(c, await Promise.all([bootstrap(c, clock, { adminToken: secret }), bootstrap(d, clock, { adminToken: secret })]));
  });

  it('a later start changes nothing and still gets the workspace id', async () => {
    const [a, b] = twoConnections();
    await applyMigrations(a, readMigrations(), T0);
    const clock = manualClock(T0);
    const one = await bootstrap(a, clock);
    const two = await bootstrap(b, clock, { adminToken: 'another-token-1234' });
    await expectOneFirstAdmin(a, [one, two]);
  });
});
