/**
 * @module legacy-etags
 * Data directories written before ETags were content hashes (fs-etags.ts) hold tags made from inode numbers
 * (`"<ino>-<size>-<mtime>"`, hex) in the `artifacts` and `uploads` rows, which no longer match what the store
 * reports, so their signed URIs would all answer 412. At start, each such row gets its object's current tag
 * (the store hashes the file once and keeps a sidecar); rows already holding a content tag are not touched,
 * so this costs one indexed scan once the directory is converted.
 */
import type { Logger, SqlDb } from '../core/ports.ts';
import type { ObjectStore } from '../core/storage/object-store.ts';

/** A content tag: the quoted 64 hex digits of a SHA-256. Anything else is an older form. */
const NOT_CONTENT_TAG = `(length(etag) <> 66 OR etag GLOB '*[^0-9a-f"]*')`;

export async function upgradeLegacyEtags(db: SqlDb, store: ObjectStore, logger: Logger): Promise<number> {
  let upgraded = 0;
  for (const table of ['artifacts', 'uploads'] as const) {
    const rows = await db.prepare(`SELECT object_key, etag FROM ${table} WHERE ${NOT_CONTENT_TAG}`).all<{ object_key: string; etag: string }>();
    for (const r of rows) {
      const meta = await store.head(r.object_key).catch(() => null);
      // A missing object keeps its row as it was (it answers 404 either way).
      if (!meta) continue;
      await db.prepare(`UPDATE ${table} SET etag = ? WHERE object_key = ? AND etag = ?`).bind(meta.etag, r.object_key, r.etag).run();
      upgraded++;
    }
  }
  if (upgraded > 0) logger.info('etags_upgraded', { rows: upgraded });
  return upgraded;
}
