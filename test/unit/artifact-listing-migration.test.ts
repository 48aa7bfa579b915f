/**
 * migrations/0004_artifact_listing.sql on a database that already holds versions: `artifacts.dir` is the
 * parent of every path, `artifact_dirs` gets every directory with its ancestors (the same rows the
 * registration batch writes for a new version), and listDirectory then answers what the whole-version
 * listing (directChildren over artifactsUnder) answered.
 */
import { describe, expect, it } from 'vitest';
import { SqliteDb } from '../../src/adapters/sqlite/sqlite-db.ts';
import { applyMigrations } from '../../src/core/migrate.ts';
import { readMigrations } from '../../src/runtime/node-deps.ts';
import { artifactsUnder, directChildren, insertArtifactStatements, listDirectory, type ArtifactRow } from '../../src/core/artifacts/managed.ts';

const PATHS = ['MLmodel', 'a/b/c/d.txt', 'a/x.txt', 'a b/ü/ñ.bin', 'a-b', 'z/y', 'deep/1/2/3/4/5/6/7/8/9/f'];

const row = (storageId: string, path: string, i: number): ArtifactRow => ({
  storage_id: storageId,
  path,
  object_key: `registry/${storageId}/models/model/${path}`,
  size: i,
  etag: `"e${i}"`,
  last_modified: 1000 + i,
});

async function versionRows(db: SqliteDb, storageIds: string[]) {
  await db.prepare("INSERT INTO registered_models (id, name, user_id, created_at, updated_at) VALUES ('m1', 'm', 'u', 0, 0)").run();
  for (const [i, sid] of storageIds.entries()) {
    await db
      .prepare("INSERT INTO model_versions (model_id, version, storage_id, model_dir, source, user_id, status, created_at, updated_at) VALUES ('m1', ?, ?, 'model', 's', 'u', 'READY', 0, 0)")
      .bind(i + 1, sid)
      .run();
  }
}

const dirsOf = (db: SqliteDb, sid: string) =>
  db.prepare('SELECT parent, path FROM artifact_dirs WHERE storage_id = ? ORDER BY path').bind(sid).all<{ parent: string; path: string }>();

describe('0004_artifact_listing', () => {
  it('backfills the directories of existing versions; new versions get the same rows at registration', async () => {
    const all = readMigrations();
    expect(all.map((m) => m.name)).toContain('0004_artifact_listing.sql');
    const db = new SqliteDb(':memory:');
    await applyMigrations(db, all.filter((m) => m.name < '0004'), 0);
    await versionRows(db, ['old1', 'old2', 'new1']);
    // Rows as the code before 0004 wrote them: one plain INSERT each.
    for (const sid of ['old1', 'old2']) {
      for (const [i, p] of PATHS.entries()) {
        const r = row(sid, sid === 'old2' ? `v2/${p}` : p, i);
        await db
          .prepare('INSERT INTO artifacts (storage_id, path, object_key, size, etag, last_modified) VALUES (?, ?, ?, ?, ?, ?)')
          .bind(r.storage_id, r.path, r.object_key, r.size, r.etag, r.last_modified)
          .run();
      }
    }
    expect(await applyMigrations(db, all, 0)).toContain('0004_artifact_listing.sql');

    const backfilled = await dirsOf(db, 'old1');
    expect(backfilled).toEqual(
      [
        ['', 'a'],
        ['', 'a b'],
        ['a b', 'a b/ü'],
        ['a', 'a/b'],
        ['a/b', 'a/b/c'],
        ['', 'deep'],
        ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => {
          const path = `deep/${[1, 2, 3, 4, 5, 6, 7, 8, 9].slice(0, n).join('/')}`;
          return [path.slice(0, path.lastIndexOf('/')), path];
        }),
        ['', 'z'],
      ]
        .map(([parent, path]) => ({ parent: parent!, path: path! }))
        .sort((x, y) => (x.path < y.path ? -1 : 1)),
    );
    const dirs = await db.prepare("SELECT path, dir FROM artifacts WHERE storage_id = 'old1' ORDER BY path").all<{ path: string; dir: string }>();
    for (const d of dirs) expect(d.dir, d.path).toBe(d.path.includes('/') ? d.path.slice(0, d.path.lastIndexOf('/')) : '');

    // A version registered after the migration: the registration batch writes the same directory rows.
    await db.batch(insertArtifactStatements(db, PATHS.map((p, i) => row('new1', p, i))));
    expect(await dirsOf(db, 'new1')).toEqual(backfilled);
    expect((await dirsOf(db, 'old2')).map((d) => d.path)).toEqual(['v2', ...backfilled.map((d) => `v2/${d.path}`)].sort());

    // Every directory of every version lists as the whole-version listing did.
    for (const sid of ['old1', 'old2', 'new1']) {
      const files = await artifactsUnder(db, sid, '');
      for (const dir of ['', ...(await dirsOf(db, sid)).map((d) => d.path)]) {
        const listing = await listDirectory(db, sid, dir);
        expect(listing.file).toBeNull();
        expect(listing.entries.map(({ path, isDir, size }) => ({ path, isDir, size })), `${sid} ${dir}`).toEqual(directChildren(files, dir));
      }
      const file = files[0]!;
      expect((await listDirectory(db, sid, file.path)).file).toEqual({ path: file.path, isDir: false, size: file.size, lastModified: file.last_modified, sha256: null });
    }

    // Deleting a version deletes its directory rows.
    await db.prepare("DELETE FROM model_versions WHERE storage_id = 'old1'").run();
    expect(await dirsOf(db, 'old1')).toEqual([]);
  });

  it('indexes many files in few statements (D1: at most 100 bound values each)', async () => {
    const db = new SqliteDb(':memory:');
    await applyMigrations(db, readMigrations(), 0);
    await versionRows(db, ['s']);
    const rows = Array.from({ length: 1000 }, (_, i) => row('s', `d${i % 10}/f${i}`, i));
    const statements = insertArtifactStatements(db, rows);
    expect(statements.length).toBe(Math.ceil(1000 / 14) + 1);
    await db.batch(statements);
    expect((await db.prepare("SELECT count(*) AS n FROM artifacts WHERE storage_id = 's'").first<{ n: number }>())!.n).toBe(1000);
    expect((await dirsOf(db, 's')).map((d) => d.path)).toEqual(Array.from({ length: 10 }, (_, i) => `d${i}`));
    expect(await artifactsUnder(db, 's', 'd3')).toEqual(rows.filter((r) => r.path.startsWith('d3/')).sort((a, b) => (a.path < b.path ? -1 : 1)).map((r) => ({ ...r, dir: 'd3', sha256: null })));
  });
});
