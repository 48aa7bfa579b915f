/**
 * @module s3-errors
 * Maps what the AWS SDK throws (S3 service errors, socket and timeout errors, aborts) to `StorageError` kinds,
 * in one place, so the S3 adapter's callers map storage failures to HTTP without knowing S3's error names.
 */
import { StorageError } from '../../core/storage/object-store.ts';

/** Seconds to ask a client to wait when S3 throttles without a Retry-After (S3 sends none on SlowDown). */
export const DEFAULT_RETRY_AFTER_S = 1;

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
  $retryable?: { throttling?: boolean };
}

/**
 * A missing key. Not NoSuchBucket (regate's configuration is wrong, every read would look like a deleted
 * artifact) and not any other 404 with a code of its own (versitygw answers an unknown access key with 404
 * XAdminUserNotFound): those are store failures. HEAD answers carry no body, so their 404 has no code.
 */
const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchUpload']);
const UNNAMED = new Set(['', 'Unknown', 'UnknownError']);
const THROTTLED = new Set(['SlowDown', 'ServiceUnavailable', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded', 'ProvisionedThroughputExceededException']);
const TIMEOUT = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'ETIMEDOUT', 'ESOCKETTIMEDOUT']);

/**
 * Retry-After in seconds: delay-seconds, or an HTTP-date taken relative to the same answer's `Date` (the store's
 * own clock, so a skewed local clock cannot stretch or cancel the wait); otherwise the default.
 */
function retryAfterOf(e: SdkErrorShape): number {
  const headers = e.$response?.headers ?? {};
  const raw = headers['retry-after'] ?? headers['Retry-After'];
  if (raw !== undefined) {
    const secs = Number(raw);
    if (Number.isFinite(secs) && secs >= 0) return Math.ceil(secs);
    const at = Date.parse(raw);
    const sent = Date.parse(headers['date'] ?? headers['Date'] ?? '');
    if (Number.isFinite(at) && Number.isFinite(sent)) return Math.max(0, Math.ceil((at - sent) / 1000));
  }
  return DEFAULT_RETRY_AFTER_S;
}

/**
 * The StorageError for an SDK failure of `what` (e.g. `GET models/x`). A StorageError passes through.
 * @example throw toStorageError(err, `HEAD ${key}`)
 */
export function toStorageError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  const name = e.name ?? e.Code ?? '';
  const code = e.code ?? '';
  const status = e.$metadata?.httpStatusCode;
  const msg = (kind: string) => `S3 ${what}: ${kind} (${name || code || 'error'}${status ? ` ${status}` : ''}).`;
  if (name === 'AbortError') return new StorageError('internal', msg('aborted'), { cause: err });
  if (NOT_FOUND.has(name) || (status === 404 && UNNAMED.has(name))) return new StorageError('not_found', msg('not found'), { cause: err });
  if (status === 412 || name === 'PreconditionFailed') return new StorageError('precondition_failed', msg('precondition failed'), { cause: err });
  if (status === 416 || name === 'InvalidRange') return new StorageError('invalid', msg('range not satisfiable'), { cause: err });
  if (name === 'KeyTooLongError') return new StorageError('name_too_long', msg('key too long'), { cause: err });
  if (status === 503 || status === 429 || THROTTLED.has(name) || e.$retryable?.throttling) {
    return new StorageError('unavailable', msg('throttled or unavailable'), { cause: err, retryAfter: retryAfterOf(e) });
  }
  if (status === 504 || TIMEOUT.has(name) || TIMEOUT.has(code)) return new StorageError('timeout', msg('timed out'), { cause: err });
  return new StorageError('internal', msg('failed'), { cause: err });
}
