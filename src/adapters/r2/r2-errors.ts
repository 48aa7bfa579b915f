/**
 * @module r2-errors
 * Maps what the R2 binding throws to `StorageError` kinds. R2 errors are plain `Error`s whose message ends in
 * R2's numeric code, e.g. `get: The requested range is not satisfiable (10039)`; there is no status or name to
 * read (neither in workerd nor through miniflare's Node proxy), so the code is parsed from the message.
 * Codes: https://developers.cloudflare.com/r2/api/error-codes/ (the subset that can reach the store).
 */
import { StorageError, type StorageErrorKind } from '../../core/storage/object-store.ts';

/** Seconds to ask a client to wait when R2 throttles (it sends no Retry-After through the binding). */
const R2_RETRY_AFTER_S = 1;

const KINDS: Record<number, StorageErrorKind> = {
  10006: 'not_found', // NoSuchBucket
  10007: 'not_found', // NoSuchKey
  10020: 'invalid', // InvalidObjectName
  10031: 'precondition_failed', // PreconditionFailed
  10039: 'invalid', // InvalidRange: a range past the end
  10043: 'unavailable', // ServiceUnavailable
  10048: 'unavailable', // too many concurrent writes to one object
  10058: 'unavailable', // TooManyRequests
};
// Any other code (Unauthorized 10001 included: the gateway's own binding, a 502 like S3's AccessDenied) is `internal`.

/** R2's numeric error code at the end of a message, if any. @example r2Code(new Error('get: x (10039)')) // 10039 */
function r2Code(err: unknown): number | undefined {
  const m = /\((\d{5})\)\s*$/.exec(err instanceof Error ? err.message : String(err));
  return m ? Number(m[1]) : undefined;
}

/**
 * The StorageError for an R2 failure of `what` (e.g. `GET models/x`). A StorageError passes through.
 * @example throw toR2StorageError(err, `HEAD ${key}`)
 */
export function toR2StorageError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err;
  const code = r2Code(err);
  const name = err instanceof Error ? err.name : '';
  const kind: StorageErrorKind =
    code !== undefined ? (KINDS[code] ?? 'internal') : name === 'TimeoutError' || /timed? ?out/i.test(String((err as Error)?.message)) ? 'timeout' : 'internal';
  const msg = `R2 ${what}: ${kind}${code !== undefined ? ` (${code})` : ''}.`;
  return new StorageError(kind, msg, { cause: err, ...(kind === 'unavailable' ? { retryAfter: R2_RETRY_AFTER_S } : {}) });
}
