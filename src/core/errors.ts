/**
 * @module errors
 * One error type with a closed set of codes, mapped exhaustively to HTTP statuses. The codes are the
 * names of MLflow's `ErrorCode` enum (databricks.proto) so both clients map them to their own exceptions.
 * Three codes are not MLflow's (METHOD_NOT_ALLOWED, PRECONDITION_FAILED, RANGE_NOT_SATISFIABLE): they are
 * only sent by the signed-download route, whose clients read the HTTP status, not the code.
 */

const STATUS = {
  INTERNAL_ERROR: 500,
  TEMPORARILY_UNAVAILABLE: 503,
  /** The database is locked by another writer past the short busy wait: retry (sent with Retry-After). */
  COULD_NOT_ACQUIRE_LOCK: 503,
  /** The disk (or the store) is full: 507, which the clients do not retry. */
  RESOURCE_EXHAUSTED: 507,
  /** The caller's upload area is over its quota. */
  QUOTA_EXCEEDED: 507,
  /** A request body or an uploaded file over its limit. */
  MAX_BLOCK_SIZE_EXCEEDED: 413,
  DEADLINE_EXCEEDED: 504,
  IO_ERROR: 502,
  BAD_REQUEST: 400,
  MALFORMED_REQUEST: 400,
  INVALID_PARAMETER_VALUE: 400,
  INVALID_STATE: 400,
  INVALID_STATE_TRANSITION: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  MAX_READ_SIZE_EXCEEDED: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_DOES_NOT_EXIST: 404,
  ENDPOINT_NOT_FOUND: 404,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PRECONDITION_FAILED: 412,
  RANGE_NOT_SATISFIABLE: 416,
  RESOURCE_CONFLICT: 409,
  REQUEST_LIMIT_EXCEEDED: 429,
  NOT_IMPLEMENTED: 501,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof STATUS;

/** The HTTP status for an error code. @example codeToStatus('RESOURCE_DOES_NOT_EXIST') // 404 */
export function codeToStatus(code: ErrorCode): number {
  return STATUS[code];
}

/** A failure that is safe to show to the caller: its message never holds a secret. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly headers: Record<string, string>;
  constructor(code: ErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'GatewayError';
    this.code = code;
    this.headers = headers;
  }
  get status(): number {
    return codeToStatus(this.code);
  }
}

/** @example throw invalid('max_results must be a positive integer') */
export const invalid = (message: string) => new GatewayError('INVALID_PARAMETER_VALUE', message);
export const notFound = (message: string) => new GatewayError('RESOURCE_DOES_NOT_EXIST', message);
export const denied = (message: string) => new GatewayError('PERMISSION_DENIED', message);
export const alreadyExists = (message: string) => new GatewayError('RESOURCE_ALREADY_EXISTS', message);

/** What the audit trail records of a refusal. */
export interface RefusalRecord {
  action: 'denied' | 'raw_path_refused';
  modelId?: string | null;
  path?: string | null;
  detail: string;
}

/**
 * A refusal by a permission check: answered like any GatewayError (a 403, or the missing-model 404 for a
 * caller who may not see the model), and recorded in the audit trail by the app's error handler, once. Plain
 * PERMISSION_DENIED errors are recorded there too; this class adds the model and the reason.
 */
export class Refusal extends GatewayError {
  readonly record: RefusalRecord;
  constructor(code: ErrorCode, message: string, record: RefusalRecord) {
    super(code, message);
    this.name = 'Refusal';
    this.record = record;
  }
}
