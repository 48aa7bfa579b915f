/**
 * The digest pieces that need no server: migrations/0007_artifact_sha256.sql on node:sqlite and on real D1
 * (miniflare), backfilling digests from content ETags only; the portable SHA-256 against node:crypto; the
 * header values (RFC 9530 Repr-Digest); and copyWithDigest reading a file at most once, on a store whose ETags are
 * SHA-256 (no read at all) and on one whose ETags are not (one streamed read).
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteDb } from '../../src/adapters/sqlite/sqlite-db.ts';
import { applyMigrations } from '../../src/core/migrate.ts';
import type { SqlDb } from '../../src/core/ports.ts';
import { readMigrations } from '../../src/runtime/node-deps.ts';
import { miniflareD1Pool } from '../helpers/miniflare-d1.ts';
import { PortableSha256, createSha256 } from '../../src/core/artifacts/digest-sha256.ts';
import { digestHeaders, etagSha256 } from '../../src/core/artifacts/digest.ts';
import { copyWithDigest } from '../../src/core/artifacts/digest-copy.ts';
import { MemoryObjectStore } from '../../src/adapters/memory/memory-object-store.ts';
import type { GetOptions, GetResult, ObjectMeta, ObjectStore } from '../../src/core/storage/object-store.ts';

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const pool = miniflareD1Pool();
afterAll(() => pool.disposeAll());

async function migrationCase(db: SqlDb) {
  const all = readMigrations();
  expect(all.map((m) => m.name)).toContain('0007_artifact_sha256.sql');
  await applyMigrations(db, all.filter((m) => m.name < '0007'), 0);
  await db.prepare("INSERT INTO registered_models (id, name, user_id, created_at, updated_at) VALUES ('m1', 'm', 'u', 0, 0)").run();
  await db
    .prepare("INSERT INTO model_versions (model_id, version, storage_id, model_dir, source, user_id, status, created_at, updated_at) VALUES ('m1', 1, 's1', 'model', 's', 'u', 'READY', 0, 0)")
    .run();
  const content = sha('hello');
  const rows: Array<[string, string]> = [
    ['fs', `"${content}"`], // a local-store content tag: its digest
    ['s3', '"5d41402abc4b2a76b9719d911017c592"'], // an S3 MD5 tag: no digest
    ['s3-multipart', '"5d41402abc4b2a76b9719d911017c592-3"'],
    ['upper', `"${content.toUpperCase()}"`], // not the shape the stores write
    ['legacy', '"1a2b-5-3c4d"'], // inode tags of old data directories
  ];
  for (const [path, etag] of rows) {
    await db.prepare("INSERT INTO artifacts (storage_id, path, object_key, size, etag, last_modified) VALUES ('s1', ?, ?, 5, ?, 0)").bind(path, `k/${path}`, etag).run();
  }
  expect(await applyMigrations(db, all.filter((m) => m.name < '0008'), 0)).toEqual(['0007_artifact_sha256.sql']);
  const got = await db.prepare('SELECT path, sha256 FROM artifacts ORDER BY path').all<{ path: string; sha256: string | null }>();
  expect(Object.fromEntries(got.map((r) => [r.path, r.sha256]))).toEqual({ fs: content, s3: null, 's3-multipart': null, upper: null, legacy: null });
}

describe('0007_artifact_sha256', () => {
  it('node:sqlite: adds the column and backfills digests from content ETags only', async () => {
    await migrationCase(new SqliteDb(':memory:'));
  });
  it('D1 (miniflare): the same statements, the same rows', async () => {
    await migrationCase(await pool.make());
  }, 60_000);
});

describe('SHA-256 and its headers', () => {
  it('the portable hasher equals node:crypto, fed in uneven pieces', () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 1000, 70_001]) {
      const bytes = randomBytes(n);
      const h = new PortableSha256();
      for (let i = 0; i < n; ) {
        const step = 1 + ((i * 7) % 97);
        h.update(bytes.subarray(i, i + step));
        i += step;
      }
      expect(h.digestHex(), `n=${n}`).toBe(sha(bytes));
    }
    expect(createSha256({ portable: true }).digestHex()).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('Repr-Digest is base64 of the 32 bytes (RFC 9530), x-regate-sha256 the hex; nothing without a digest', () => {
    const hex = sha('hello');
    expect(digestHeaders(hex)).toEqual({
      'Repr-Digest': `sha-256=:${Buffer.from(hex, 'hex').toString('base64')}:`,
      'x-regate-sha256': hex,
    });
    expect(digestHeaders(null)).toEqual({});
    expect(digestHeaders('zz')).toEqual({});
    expect(etagSha256(`"${hex}"`)).toBe(hex);
    expect(etagSha256('"5d41402abc4b2a76b9719d911017c592"')).toBeNull();
    expect(etagSha256(`W/"${hex}"`)).toBeNull();
  });
});

/** A memory store that tags objects like S3 (MD5) and counts the bytes its gets hand out and its server-side copies. */
class Md5TaggedStore implements ObjectStore {
  readonly inner = new MemoryObjectStore();
  gets = 0;
  copies = 0;
  #md5 = new Map<string, string>();
  #tag(m: ObjectMeta): ObjectMeta {
    return { ...m, etag: this.#md5.get(m.key) ?? m.etag };
  }
  head(key: string) {
    return this.inner.head(key).then((m) => (m ? this.#tag(m) : null));
  }
  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    this.gets++;
    if (opts.ifMatch !== undefined && opts.ifMatch !== this.#md5.get(key)) throw new Error('ifMatch not pinned to the indexed tag');
    const { ifMatch: _, ...rest } = opts;
    const r = await this.inner.get(key, rest);
    return Object.assign(r, { meta: this.#tag(r.meta) });
  }
  async put(key: string, body: ReadableStream<Uint8Array>, opts?: { contentLength?: number }) {
    const meta = await this.inner.put(key, body, opts);
    const bytes = new Uint8Array(await new Response((await this.inner.get(key)).body).arrayBuffer());
    this.#md5.set(key, `"${createHash('md5').update(bytes).digest('hex')}"`);
    return this.#tag(meta);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  async copy(src: string, dst: string) {
    this.copies++;
    const meta = await this.inner.copy(src, dst);
    this.#md5.set(dst, this.#md5.get(src)!);
    return this.#tag(meta);
  }
}

const stream = (b: Uint8Array) => new Response(b as Uint8Array<ArrayBuffer>).body!;

describe('copyWithDigest', () => {
  it('a store whose ETag is the SHA-256: its own copy, no byte read', async () => {
    const store = new MemoryObjectStore();
    const bytes = randomBytes(100_000);
    const put = await store.put('up/a', stream(bytes));
    let reads = 0;
    const counting = Object.assign(Object.create(store) as ObjectStore, {
      get: (k: string, o?: GetOptions) => (reads++, store.get(k, o)),
      copy: (a: string, b: string) => store.copy(a, b),
    });
    const out = await copyWithDigest(counting, { key: 'up/a', etag: put.etag }, 'reg/a');
    expect(out.sha256).toBe(sha(bytes));
    expect(reads).toBe(0);
  });

  it('an MD5-tagged store (S3/R2): one streamed read through the hasher, no server-side copy; a known digest is reused', async () => {
    const store = new Md5TaggedStore();
    const bytes = randomBytes(300_000);
    const put = await store.put('up/a', stream(bytes));
    store.gets = 0;
    const out = await copyWithDigest(store, { key: 'up/a', etag: put.etag }, 'reg/a');
    expect(out.sha256).toBe(sha(bytes));
    expect(store.gets).toBe(1);
    expect(store.copies).toBe(0);
    expect(new Uint8Array(await new Response((await store.get('reg/a', { ifMatch: out.meta.etag })).body).arrayBuffer())).toEqual(new Uint8Array(bytes));
    // Copying a file whose digest the index already has (another version's): the store's copy, no read.
    store.gets = 0;
    const again = await copyWithDigest(store, { key: 'reg/a', etag: out.meta.etag, sha256: out.sha256 }, 'reg/b');
    expect(again.sha256).toBe(sha(bytes));
    expect([store.gets, store.copies]).toEqual([0, 1]);
  });
});
