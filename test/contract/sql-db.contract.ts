/**
 * @module sql-db-contract
 * What every SqlDb adapter must do (node:sqlite today, D1 on Workers next): bind, first/all/run, atomic
 * batches, the SQL features the core relies on (RETURNING, json_each, recursive CTEs, ON CONFLICT, foreign
 * keys with cascades), and the production migrations.
 */
import { describe, expect, it } from 'vitest';
import type { SqlDb } from '../../src/core/ports.ts';
import { applyMigrations, type Migration } from '../../src/core/migrate.ts';

export function runSqlDbContract(name: string, make: () => Promise<SqlDb>, migrations: Migration[]): void {
  describe(`SqlDb contract: ${name}`, () => {
    const fresh = async () => {
      const db = await make();
      await db.prepare('CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL, b BLOB)').run();
      return db;
    };

    it('binds values and reads rows back with first and all', async () => {
      const db = await fresh();
      const bytes = new Uint8Array([0, 1, 255]);
      await db.prepare('INSERT INTO t (k, n, b) VALUES (?, ?, ?)').bind('a', 1, bytes).run();
      await db.prepare('INSERT INTO t (k, n, b) VALUES (?, ?, ?)').bind('b', 2, null).run();
      const row = await db.prepare('SELECT k, n, b FROM t WHERE k = ?').bind('a').first<{ k: string; n: number; b: Uint8Array }>();
      expect(row?.k).toBe('a');
      expect(row?.n).toBe(1);
      expect(Array.from(row!.b)).toEqual([0, 1, 255]);
      expect(await db.prepare('SELECT k FROM t WHERE k = ?').bind('zz').first()).toBeNull();
      expect((await db.prepare('SELECT k FROM t ORDER BY k').all<{ k: string }>()).map((r) => r.k)).toEqual(['a', 'b']);
    });

    it('reports changes from run', async () => {
      const db = await fresh();
      await db.prepare("INSERT INTO t (k, n) VALUES ('a', 1), ('b', 1), ('c', 2)").run();
      expect((await db.prepare('UPDATE t SET n = 5 WHERE n = 1').run()).changes).toBe(2);
      expect((await db.prepare("DELETE FROM t WHERE k = 'none'").run()).changes).toBe(0);
    });

    it('a bound statement is a new statement: the prepared one can be bound again', async () => {
      const db = await fresh();
      const ins = db.prepare('INSERT INTO t (k, n) VALUES (?, ?)');
      await db.batch([ins.bind('x', 1), ins.bind('y', 2)]);
      expect((await db.prepare('SELECT COUNT(*) AS c FROM t').first<{ c: number }>())?.c).toBe(2);
    });

    it('runs a batch atomically: a failing statement undoes the ones before it', async () => {
      const db = await fresh();
      const ins = db.prepare('INSERT INTO t (k, n) VALUES (?, ?)');
      await expect(db.batch([ins.bind('a', 1), ins.bind('b', 2), ins.bind('a', 3)])).rejects.toThrow();
      expect((await db.prepare('SELECT COUNT(*) AS c FROM t').first<{ c: number }>())?.c).toBe(0);
      const results = await db.batch([ins.bind('a', 1), db.prepare('SELECT k FROM t')]);
      expect(results[1]).toEqual([{ k: 'a' }]);
    });

    it('supports RETURNING, json_each, recursive CTEs and upserts', async () => {
      const db = await fresh();
      await db.prepare("INSERT INTO t (k, n) VALUES ('c', 1)").run();
      const r = await db.prepare("UPDATE t SET n = n + 1 WHERE k = 'c' RETURNING n").first<{ n: number }>();
      expect(r?.n).toBe(2);
      const inList = await db.prepare('SELECT value FROM json_each(?) ORDER BY value').bind(JSON.stringify(['b', 'a'])).all();
      expect(inList).toEqual([{ value: 'a' }, { value: 'b' }]);
      const cte = await db
        .prepare('WITH RECURSIVE n(x) AS (SELECT 1 UNION SELECT x + 1 FROM n WHERE x < 5) SELECT SUM(x) AS s FROM n')
        .first<{ s: number }>();
      expect(cte?.s).toBe(15);
      await db.prepare("INSERT INTO t (k, n) VALUES ('c', 9) ON CONFLICT (k) DO UPDATE SET n = n + 10").run();
      expect((await db.prepare("SELECT n FROM t WHERE k = 'c'").first<{ n: number }>())?.n).toBe(12);
    });

    it('applies the production migrations once, enforcing foreign keys with cascades', async () => {
      const db = await make();
      expect(await applyMigrations(db, migrations, 0)).toEqual(migrations.map((m) => m.name).sort());
      expect(await applyMigrations(db, migrations, 0)).toEqual([]);
      await db.prepare("INSERT INTO registered_models (id, name, user_id, created_at, updated_at) VALUES ('m1', 'm', 'u', 0, 0)").run();
      await db.prepare("INSERT INTO model_tags (model_id, key, value) VALUES ('m1', 'k', 'v')").run();
      await expect(db.prepare("INSERT INTO model_tags (model_id, key, value) VALUES ('nope', 'k', 'v')").run()).rejects.toThrow();
      await db.prepare("DELETE FROM registered_models WHERE id = 'm1'").run();
      expect((await db.prepare('SELECT COUNT(*) AS c FROM model_tags').first<{ c: number }>())?.c).toBe(0);
    });
  });
}
