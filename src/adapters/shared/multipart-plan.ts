/**
 * @module multipart-plan
 * The multipart-upload limits S3 and R2 share (R2 implements S3's: parts of at least 5 MiB but the last, at
 * most 10 000 parts) and the plan of a part-wise copy: equal parts, as large as asked or large enough to fit
 * the object in 10 000. One place for both stores, so their limits and part boundaries cannot drift apart.
 */

/** The smallest part (all but the last) and the most parts an upload may have. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;
/** Part size of uploads when none is configured. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

/** One part of a copy: its number (from 1) and the source bytes `offset` to `offset + length - 1`. */
export interface CopyPart {
  n: number;
  offset: number;
  length: number;
}

/** A configured part size, refused (RangeError, at construction) below the protocol's minimum. */
export function checkPartSize(name: string, size: number): number {
  if (!(size >= MIN_PART_SIZE)) throw new RangeError(`${name} must be at least ${MIN_PART_SIZE} bytes.`);
  return size;
}

/**
 * The parts of a part-wise copy of `size` bytes: `partSize` each (raised to fit MAX_PARTS), the last shorter.
 * @example copyParts(10, 4) // [{n:1,offset:0,length:4},{n:2,offset:4,length:4},{n:3,offset:8,length:2}]
 */
export function copyParts(size: number, partSize: number): CopyPart[] {
  const each = Math.max(partSize, Math.ceil(size / MAX_PARTS));
  const parts: CopyPart[] = [];
  for (let offset = 0, n = 1; offset < size; offset += each, n++) parts.push({ n, offset, length: Math.min(each, size - offset) });
  return parts;
}
