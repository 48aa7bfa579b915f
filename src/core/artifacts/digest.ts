/**
 * @module digest
 * The SHA-256 of a managed file as regate hands it out: lowercase hex in the artifact index, list-artifacts and
 * the manifest; on downloads `Repr-Digest: sha-256=:<base64>:` (RFC 9530: the digest of the whole
 * representation, so the same on a 200 and on every 206) and `x-regate-sha256: <hex>` for tools that want hex.
 * The legacy `Digest` header (RFC 3230) is not sent: RFC 9530 obsoletes it and it had no range semantics.
 */

const HEX64 = /^[0-9a-f]{64}$/;

/** Whether `hex` is a SHA-256 as the index stores it. */
export function isSha256Hex(hex: unknown): hex is string {
  return typeof hex === 'string' && HEX64.test(hex);
}

/**
 * The SHA-256 a store's ETag already is, or null. The local and memory stores tag objects with the quoted hex
 * SHA-256 of their bytes (fs-etags.ts); S3 and R2 tags are MD5-based (32 hex digits, or `<md5>-<parts>` after a
 * multipart upload) and never have this shape, so nothing is taken from them.
 * @example etagSha256('"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"') // '2cf24d…9824'
 */
export function etagSha256(etag: string | undefined | null): string | null {
  if (typeof etag !== 'string' || etag.length !== 66 || etag[0] !== '"' || etag[65] !== '"') return null;
  const hex = etag.slice(1, 65);
  return HEX64.test(hex) ? hex : null;
}

/** Base64 (standard alphabet, padded) of the 32 bytes `hex` spells, as RFC 9530's byte sequences want. */
function sha256Base64(hex: string): string {
  let bin = '';
  for (let i = 0; i < 64; i += 2) bin += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  return btoa(bin);
}

/** The download headers that state a file's digest; none when the index has none for it. */
export function digestHeaders(hex: string | null | undefined): Record<string, string> {
  if (!isSha256Hex(hex)) return {};
  return { 'Repr-Digest': `sha-256=:${sha256Base64(hex)}:`, 'x-regate-sha256': hex };
}
