/**
 * @module filter-pattern-length.test
 * LIKE / ILIKE search filters of any length on a connection that refuses patterns over 50 bytes, as D1
 * does: random patterns (up to 200 characters, `%`, `_`, GLOB metacharacters, case changes, multi-byte
 * characters) must select exactly the rows SQLite's own unlimited LIKE / GLOB selects.
 */
import { describe, expect, it } from 'vitest';
import { DatabaseSync } from 'node:sqlite';
import { compileModelFilter, likeToGlob } from '../../src/core/registry/filter-sql.ts';
import { limitLikePatterns } from '../helpers/d1-like-limit.ts';

/** mulberry32: a seeded generator, so a failure replays. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = ['a', 'b', 'c', 'A', 'B', 'x', '-', '.', '*', '?', '[', ']', 'é', 'É', '日', '😀', '%', '_'];

function makeDb(names: string[]): DatabaseSync {
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE registered_models (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
  db.exec('CREATE TABLE model_tags (model_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL)');
  const ins = db.prepare('INSERT INTO registered_models (id, name) VALUES (?, ?)');
  const tag = db.prepare("INSERT INTO model_tags (model_id, key, value) VALUES (?, 'k', ?)");
  names.forEach((n, i) => {
    ins.run(i + 1, n);
    tag.run(i + 1, n);
  });
  return db;
}

function randomString(r: () => number, max: number): string {
  const n = Math.floor(r() * (max + 1));
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)]!;
  return s;
}

/** A pattern derived from a name (so many match): characters turned into `_`, runs into `%`, case flipped. */
function patternFrom(r: () => number, name: string): string {
  let out = '';
  for (const ch of name) {
    const x = r();
    if (x < 0.08) out += '_';
    else if (x < 0.14) out += '%';
    else if (x < 0.2) continue;
    else if (x < 0.3) out += ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase();
    else out += ch;
  }
  if (r() < 0.3) out = '%' + out;
  if (r() < 0.3) out += '%';
  return out;
}

describe('LIKE and ILIKE filters longer than D1 allows', () => {
  it('select exactly what SQLite selects, with no pattern over 50 bytes', () => {
    const r = rng(20261201);
    const names = Array.from({ length: 60 }, () => randomString(r, 160));
    names.push('', 'a', 'a'.repeat(61), 'A'.repeat(200), 'ab'.repeat(100));
    const reference = makeDb(names);
    const limited = makeDb(names);
    const seen = limitLikePatterns(limited);
    let longOnes = 0;
    let matched = 0;
    for (let i = 0; i < 150; i++) {
      const base = names[Math.floor(r() * names.length)]!;
      let pattern = r() < 0.75 ? patternFrom(r, base) : randomString(r, 200);
      if (r() < 0.1) pattern = pattern.replace(/[^%]/g, (c) => (r() < 0.5 ? '%' : c));
      if (Buffer.byteLength(pattern) > 50) longOnes++;
      for (const op of ['LIKE', 'ILIKE'] as const) {
        for (const field of ['name', 'tags.k'] as const) {
          const filter = `${field} ${op} '${pattern}'`;
          const want = (
            op === 'LIKE'
              ? reference.prepare('SELECT id FROM registered_models WHERE name GLOB ? ORDER BY id').all(likeToGlob(pattern))
              : reference.prepare('SELECT id FROM registered_models WHERE name LIKE ? ORDER BY id').all(pattern)
          ).map((x) => x.id);
          const cond = compileModelFilter(filter);
          const sql = `SELECT m.id FROM registered_models m WHERE ${cond.where.join(' AND ')} ORDER BY m.id`;
          let got: unknown[];
          try {
            got = limited.prepare(sql).all(...(cond.binds as string[])).map((x) => x.id);
          } catch (e) {
            throw new Error(`${filter}: ${(e as Error).message}`);
          }
          expect(got, filter).toEqual(want);
          if (want.length > 0) matched++;
        }
      }
    }
    expect(longOnes).toBeGreaterThan(50);
    expect(matched).toBeGreaterThan(40);
    // The limit was exercised: pieces of exactly 50 bytes were matched, none longer.
    expect(seen.longest).toBe(50);
  });

  it('binds one value per LIKE clause however long the pattern (D1 allows 100 bound parameters)', () => {
    const c = compileModelFilter(`name ILIKE '${'ab_%'.repeat(2000)}'`);
    expect(c.binds).toHaveLength(1);
  });
});
