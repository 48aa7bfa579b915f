/**
 * @module sql-errors
 * Database failures the caller can act on, named by kind so the HTTP layer maps them without parsing driver
 * messages (each SqlDb adapter translates its own error codes into these):
 * - `busy`: another connection or process holds the write lock past the short wait → 503
 *   COULD_NOT_ACQUIRE_LOCK with Retry-After (the clients retry 503s);
 * - `full`: the disk (or the database's quota) is full, or the disk failed to write → 507 RESOURCE_EXHAUSTED
 *   (retrying does not help until space is freed).
 * Anything else stays a plain error: a bug, answered 500.
 */
import { GatewayError } from './errors.ts';

export type SqlErrorKind = 'busy' | 'full';

export class SqlError extends Error {
  readonly kind: SqlErrorKind;
  constructor(kind: SqlErrorKind, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SqlError';
    this.kind = kind;
  }
}

/** Seconds a client is asked to wait after a lock timeout: the lock holder is usually done well within it. */
export const LOCK_RETRY_AFTER_SECONDS = 1;

/** The answer for a SqlError: never the driver's message, which may name files. */
export function sqlErrorToGateway(e: SqlError): GatewayError {
  switch (e.kind) {
    case 'busy':
      return new GatewayError('COULD_NOT_ACQUIRE_LOCK', 'The database is busy with another writer; retry.', { 'Retry-After': String(LOCK_RETRY_AFTER_SECONDS) });
    case 'full':
      return new GatewayError('RESOURCE_EXHAUSTED', 'The database cannot write to disk (it is full); free space (delete versions, models or uploads) and retry.');
  }
}
