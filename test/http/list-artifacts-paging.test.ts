/**
 * list-artifacts on a large version: the pages are the ones the whole-version listing gave (directories
 * first, then files, both by path; full paths, exact sizes; 1000 per page), the page tokens round-trip and
 * garbage tokens are refused, and every page costs what it returns: the SQL of one page returns at most 1001
 * rows (counted on a wrapper of the SqlDb port) and only searches indexes, whatever the version's size.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { artifactsUnder, directChildren, encodeListToken, type DirEntry } from '../../src/core/artifacts/managed.ts';
import { putUpload } from '../../src/core/artifacts/uploads.ts';
import { encodePageToken } from '../../src/core/registry/paging.ts';
import type { SqlDb, SqlStatement, SqlValue } from '../../src/core/ports.ts';
import { makeHarness, type Harness, type Identity } from '../helpers/harness.ts';

/** A small page, so that the 5,012-file version spans several (the default is 10,000). */
const LIST_PAGE = 1000;
import { streamOf } from '../helpers/streams.ts';

const AREA = '/databricks/mlflow/tmp-external-source';
const MV = '/api/2.0/mlflow/model-versions';

/** Rows each statement returned to the caller (all() → its length, first() → 0 or 1), with its SQL. */
interface Read {
  sql: string;
  rows: number;
}

function rowCountingDb(db: SqlDb, reads: Read[]): SqlDb {
  // Wrapper → the real statement, so that a batch runs the real ones.
  const inners = new WeakMap<SqlStatement, SqlStatement>();
  const wrap = (inner: SqlStatement, sql: string): SqlStatement => {
    const s: SqlStatement = {
      bind: (...values: SqlValue[]) => wrap(inner.bind(...values), sql),
      first: async <T>() => {
        const r = await inner.first<T>();
        reads.push({ sql, rows: r === null ? 0 : 1 });
        return r;
      },
      all: async <T>() => {
        const r = await inner.all<T>();
        reads.push({ sql, rows: r.length });
        return r;
      },
      run: () => inner.run(),
    };
    inners.set(s, inner);
    return s;
  };
  return {
    prepare: (sql) => wrap(db.prepare(sql), sql),
    batch: (statements) => db.batch(statements.map((s) => inners.get(s) ?? s)),
  };
}

let h: Harness;
let ana: Identity;
let app: ReturnType<typeof createApp>;
const reads: Read[] = [];
/** The version's files, as registered: relative path → size. */
const files = new Map<string, number>();
let storageId: string;

/** 1200 directories (each with one file, one also deeper) and 3800 files at the root, names chosen to sort. */
function layout(): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < 1200; i++) out.set(`d${String(i).padStart(4, '0')}/f.bin`, i % 7);
  out.set('d0007/x/y/deep.txt', 11);
  for (let i = 0; i < 3790; i++) out.set(`f${String(i).padStart(4, '0')}.bin`, (i * 37) % 1000);
  // Neighbours of '/' and of each other in byte order, upper before lower case, spaces and non-ASCII.
  for (const name of ['a-b', 'a.b', 'a0', 'A', 'Z z', 'é.txt', 'ü', 'ǅ', 'x%y', 'MLmodel']) out.set(name, name.length);
  out.set('a/inside', 1);
  out.set('a b/inside', 2);
  return out;
}

async function list(query: Record<string, string>, token = ana.token) {
  const qs = new URLSearchParams({ name: 'm', version: '1', ...query }).toString();
  reads.splice(0);
  // Measure the listing itself, not a page rendered earlier and kept (listing-cache.test.ts covers that).
  h.deps.listings.clear();
  const res = await app.request(`${MV}/list-artifacts?${qs}`, { headers: { Authorization: `Bearer ${token}` } });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const json = (await res.json()) as any;
  // regate's `sha256` on files (test/http/digest.test.ts checks its values): its shape here, then left out.
  for (const f of json.files ?? []) if (!f.is_dir) expect(f.sha256, f.path).toMatch(/^[0-9a-f]{64}$/), delete f.sha256;
  return { status: res.status, json, reads: [...reads] };
}

/** What the whole-version listing (the code before keyset paging) answered, page by page. */
function expectedPages(entries: DirEntry[]) {
  const wire = entries.map((e) => (e.isDir ? { path: e.path, is_dir: true } : { path: e.path, is_dir: false, file_size: e.size }));
  const pages = [];
  for (let i = 0; i < wire.length; i += LIST_PAGE) pages.push(wire.slice(i, i + LIST_PAGE));
  return pages.length > 0 ? pages : [[]];
}

async function allPages(path: string) {
  const pages = [];
  let token: string | undefined;
  for (let i = 0; i < 20; i++) {
    const r = await list({ path, ...(token ? { page_token: token } : {}) });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    pages.push({ ...r, files: r.json.files });
    token = r.json.next_page_token;
    if (!token) return pages;
  }
  throw new Error('paging did not end');
}

beforeAll(async () => {
  h = await makeHarness({ env: { REGATE_LIST_ARTIFACTS_PAGE_SIZE: String(LIST_PAGE) } });
  app = createApp({ ...h.deps, db: rowCountingDb(h.db, reads) });
  ana = await h.user('ana@x');
  await h.expectOk('POST', '/api/2.0/mlflow/registered-models/create', { token: ana.token, body: { name: 'm' } });
  for (const [rel, size] of layout()) {
    files.set(rel, size);
    await putUpload({ db: h.db, clock: h.clock, objectStore: h.deps.objectStore! }, ana.id, `${AREA}/big/model/${rel}`, streamOf(new Uint8Array(size)));
  }
  const created = await h.expectOk('POST', `${MV}/create`, { token: ana.token, body: { name: 'm', source: `dbfs:${AREA}/big/model` } });
  expect(created.model_version.status).toBe('READY');
  const row = await h.db.prepare("SELECT storage_id FROM model_versions WHERE version = 1").first<{ storage_id: string }>();
  storageId = row!.storage_id;
}, 60_000);

describe('list-artifacts on a 5,000-file version', () => {
  it('answers the same pages as the whole-version listing, directories first, tokens round-tripping', async () => {
    expect(files.size).toBeGreaterThanOrEqual(5000);
    const all = await artifactsUnder(h.db, storageId, '');
    expect(all).toHaveLength(files.size);
    for (const dir of ['', 'd0007', 'd0007/x', 'a', 'no-such-dir']) {
      const want = expectedPages(directChildren(all, dir));
      const got = await allPages(dir);
      expect(got.map((p) => p.files), dir).toEqual(want);
      for (const p of got) expect(p.json.next_page_token === undefined).toBe(p === got.at(-1));
    }
    const root = await allPages('');
    expect(root).toHaveLength(Math.ceil((1200 + 2 + 3790 + 10) / LIST_PAGE));
    // The boundary between the 1202 directories and the files falls inside page 2.
    expect(root[0]!.files.slice(0, 3)).toEqual([{ path: 'a', is_dir: true }, { path: 'a b', is_dir: true }, { path: 'd0000', is_dir: true }]);
    expect(root[1]!.files[201]).toEqual({ path: 'd1199', is_dir: true });
    expect(root[1]!.files[202]).toEqual({ path: 'A', is_dir: false, file_size: 1 });
    // Byte order: 'A' < 'MLmodel' < 'Z z' < 'a-b' < 'a.b' < 'a0' < ... < 'x%y' < 'é.txt' < 'ü' < 'ǅ'.
    expect(root.flatMap((p) => p.files).slice(-4).map((f: { path: string }) => f.path)).toEqual(['x%y', 'é.txt', 'ü', 'ǅ']);
    const listed = new Map(root.flatMap((p) => p.files).filter((f: { is_dir: boolean }) => !f.is_dir).map((f: { path: string; file_size: number }) => [f.path, f.file_size]));
    expect(listed).toEqual(new Map([...files].filter(([rel]) => !rel.includes('/'))));
  });

  it('each page reads at most 1001 rows of the index, with index searches only', async () => {
    const pages = await allPages('');
    for (const p of pages) {
      const listing = p.reads.filter((r) => /\bartifact(s|_dirs)\b/.test(r.sql));
      expect(listing, JSON.stringify(listing)).toHaveLength(1);
      expect(listing[0]!.rows).toBeLessThanOrEqual(LIST_PAGE + 1);
      // Everything else the request read (identity, grants, model, version) is a handful of rows.
      expect(p.reads.reduce((n, r) => n + r.rows, 0)).toBeLessThanOrEqual(LIST_PAGE + 1 + 20);
    }
    const sql = pages[0]!.reads.find((r) => /\bartifact_dirs\b/.test(r.sql))!.sql;
    const plan = h.db.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(storageId, '', '', '', LIST_PAGE + 1) as Array<{ detail: string }>;
    const tables = plan.filter((r) => /\bartifact(s|_dirs)\b/.test(r.detail));
    expect(tables.length).toBeGreaterThanOrEqual(3);
    for (const r of tables) expect(r.detail).toMatch(/^SEARCH artifact(s|_dirs) USING (COVERING )?INDEX /);
    // A directory of one file and a file path read one row; the last page only what is left.
    expect((await list({ path: 'd0001' })).reads.find((r) => /\bartifacts\b/.test(r.sql))!.rows).toBe(1);
    expect((await list({ path: 'f0001.bin' })).reads.find((r) => /\bartifacts\b/.test(r.sql))!.rows).toBe(1);
    expect(pages.at(-1)!.reads.find((r) => /\bartifacts\b/.test(r.sql))!.rows).toBe(pages.at(-1)!.files.length);
  });

  it('a file lists as itself; a missing directory as empty', async () => {
    expect((await list({ path: 'f0001.bin' })).json).toEqual({ files: [{ path: 'f0001.bin', is_dir: false, file_size: 37 }] });
    expect((await list({ path: 'd0007/x/y/deep.txt' })).json).toEqual({ files: [{ path: 'd0007/x/y/deep.txt', is_dir: false, file_size: 11 }] });
    expect((await list({ path: 'd0007/x/y/' })).json).toEqual({ files: [{ path: 'd0007/x/y/deep.txt', is_dir: false, file_size: 11 }] });
    expect((await list({ path: 'nothing/here' })).json).toEqual({ files: [] });
  });

  it('refuses garbage and foreign page tokens with 400 INVALID_PARAMETER_VALUE, before reading the listing', async () => {
    const first = await list({ path: '' });
    const good = first.json.next_page_token as string;
    const b64 = (s: string) => btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    const bad: Array<[string, string]> = [
      ['', '!!'],
      ['', 'abc'],
      ['', `${good}=`],
      ['', `${good}A`],
      ['', good.slice(0, -1)],
      ['', encodePageToken(1000)],
      ['', b64('{"after":"f0001.bin"}')],
      ['', b64('{"dir":false,"after":"f0001.bin"}')],
      ['', b64('{"after":"f0001.bin","dir":"no"}')],
      ['', b64('{"after":"f0001.bin","dir":false,"x":1}')],
      ['', b64('["f0001.bin",false]')],
      ['', b64('{"after":"\xff","dir":false}')],
      ['', encodeListToken({ isDir: true, path: 'd0007/x' })],
      ['', encodeListToken({ isDir: false, path: '' })],
      ['d0007', good],
      ['d0007', encodeListToken({ isDir: true, path: 'd0008/x' })],
      ['', 'A'.repeat(5000)],
    ];
    for (const [path, page_token] of bad) {
      const r = await list({ path, page_token });
      expect(r.status, `${path} ${page_token}`).toBe(400);
      expect(r.json.error_code).toBe('INVALID_PARAMETER_VALUE');
      expect(r.reads.filter((x) => /\bartifact(s|_dirs)\b/.test(x.sql))).toEqual([]);
    }
    // A token made for this directory, at any entry (even one that does not exist), is a position.
    const mid = await list({ path: '', page_token: encodeListToken({ isDir: false, path: 'f3000' }) });
    expect(mid.status).toBe(200);
    expect(mid.json.files[0]).toEqual({ path: 'f3000.bin', is_dir: false, file_size: (3000 * 37) % 1000 });
    const afterDirs = await list({ path: '', page_token: encodeListToken({ isDir: true, path: 'zzz' }) });
    expect(afterDirs.json.files[0]).toEqual({ path: 'A', is_dir: false, file_size: 1 });
  });

  it('the DBFS list of the managed directory holds the same entries, in one answer', async () => {
    const uri = await h.expectOk('GET', `${MV}/get-download-uri`, { token: ana.token, query: { name: 'm', version: '1' } });
    const res = await app.request(`/api/2.0/dbfs/list?${new URLSearchParams({ path: uri.artifact_uri })}`, { headers: { Authorization: `Bearer ${ana.token}` } });
    expect(res.status).toBe(200);
    const dbfs = ((await res.json()) as { files: Array<{ path: string; is_dir: boolean; file_size: number }> }).files;
    const pages = (await allPages('')).flatMap((p) => p.files);
    const prefix = `${uri.artifact_uri.slice('dbfs:'.length)}/`;
    expect(dbfs.map((f) => ({ path: f.path.slice(prefix.length), is_dir: f.is_dir }))).toEqual(pages.map((f) => ({ path: f.path, is_dir: f.is_dir })));
    expect(dbfs.filter((f) => !f.is_dir).map((f) => f.file_size)).toEqual(pages.filter((f) => !f.is_dir).map((f) => f.file_size));
  });
});
