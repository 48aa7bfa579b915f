/**
 * @module storage-errors
 * Storage failures as JSON errors, before any byte of a body has gone out (range-and-signing.md T17):
 * throttling → 503 + Retry-After, timeouts → 504, a missing object → 404, anything else (including access
 * denied for regate's own credentials) → 502. Messages never carry keys, buckets or upstream text.
 */
import { GatewayError } from '../../core/errors.ts';
import { StorageError } from '../../core/storage/object-store.ts';
import type { Ctx } from '../env.ts';
import { errorResponse } from '../respond.ts';

export function storageError(e: unknown): GatewayError {
  if (e instanceof GatewayError) return e;
  if (!(e instanceof StorageError)) throw e;
  switch (e.kind) {
    case 'not_found':
      return new GatewayError('RESOURCE_DOES_NOT_EXIST', 'The artifact is no longer in storage.');
    case 'precondition_failed':
      return new GatewayError('PRECONDITION_FAILED', 'The artifact changed since the URI was issued; ask for a new one.');
    case 'unavailable':
      return new GatewayError('TEMPORARILY_UNAVAILABLE', 'Artifact storage is busy; retry.', { 'Retry-After': String(e.retryAfter ?? 1) });
    case 'timeout':
      return new GatewayError('DEADLINE_EXCEEDED', 'Artifact storage did not answer in time; retry.');
    case 'full':
      return new GatewayError('RESOURCE_EXHAUSTED', 'Artifact storage is full; free space (delete versions or uploads) and retry.');
    case 'name_too_long':
      return new GatewayError('INVALID_PARAMETER_VALUE', 'A file name is too long for artifact storage (at most 255 bytes per path segment, 1024 per path).');
    case 'conflict':
      return new GatewayError('RESOURCE_CONFLICT', 'A file and a directory cannot have the same path.');
    case 'internal':
    case 'invalid':
      return new GatewayError('IO_ERROR', 'Artifact storage failed; retry later.');
  }
}

export function storageErrorResponse(c: Ctx, e: unknown): Response {
  const err = storageError(e);
  if (e instanceof StorageError) c.var.deps.logger.warn('storage_error', { requestId: c.var.requestId, kind: e.kind });
  return errorResponse(err);
}
