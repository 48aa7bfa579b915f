/**
 * @module digest-copy
 * Copies one file into managed storage and comes back with its SHA-256, reading its bytes at most once:
 * - the digest is already known (a file of another version, from the index; or an object whose ETag is its
 *   SHA-256, as on the local and memory stores): the store's own copy (a hard link, a server-side copy), no byte
 *   read at all;
 * - otherwise (S3/R2 uploads, tagged with MD5): the bytes are streamed from the source into the destination
 *   through a hasher, so the copy and the hash are one read. This replaces a server-side copy by a
 *   read-and-write through regate, the price of knowing the digest of every file without a second read.
 */
import type { ObjectMeta, ObjectStore } from '../storage/object-store.ts';
import { etagSha256, isSha256Hex } from './digest.ts';
import { createSha256 } from './digest-sha256.ts';

export interface DigestSource {
  key: string;
  /** The source's ETag as indexed (upload or artifact row), when known: the streamed copy is pinned to it. */
  etag?: string;
  /** The source's SHA-256 (hex) as indexed, when known. */
  sha256?: string | null;
}

export interface DigestCopy {
  meta: ObjectMeta;
  sha256: string;
}

/** @example const { meta, sha256 } = await copyWithDigest(store, { key: 'uploads/p/a', etag }, 'registry/s/models/m/a') */
export async function copyWithDigest(store: ObjectStore, src: DigestSource, dstKey: string): Promise<DigestCopy> {
  const known = isSha256Hex(src.sha256) ? src.sha256 : etagSha256(src.etag);
  if (known !== null) {
    const meta = await store.copy(src.key, dstKey);
    // A content ETag on the copy is the store's own statement about these bytes: it wins over the index.
    return { meta, sha256: etagSha256(meta.etag) ?? known };
  }
  return streamCopy(store, src, dstKey);
}

async function streamCopy(store: ObjectStore, src: DigestSource, dstKey: string): Promise<DigestCopy> {
  const got = await store.get(src.key, src.etag === undefined ? {} : { ifMatch: src.etag });
  const hash = createSha256();
  const hashing = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, ctl) {
      hash.update(chunk);
      ctl.enqueue(chunk);
    },
  });
  try {
    const meta = await store.put(dstKey, got.body.pipeThrough(hashing), { contentLength: got.meta.size });
    return { meta, sha256: hash.digestHex() };
  } finally {
    await got.release();
  }
}
