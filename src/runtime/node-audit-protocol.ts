/**
 * @module node-audit-protocol
 * The messages between ThreadedAuditSink (main thread, node-audit-thread.ts) and its worker
 * (node-audit-worker.ts), in a module of their own so that neither side loads the other's code. The main
 * thread builds a batch as one flat array (AUDIT_ROW_WIDTH values a row, a single push per row) and posts it as
 * the JSON of that array: one string, which it keeps until the batch is acknowledged (see node-audit-thread.ts).
 */
import type { AuditAction, AuditEvent } from '../core/audit.ts';

/** Values per row: at, principalId, action, modelId, version, path, bytes, status, detail. */
export const AUDIT_ROW_WIDTH = 9;

export interface AuditWorkerData {
  dbPath: string;
  /** First retry delay after a failed write (doubles up to AUDIT_MAX_RETRY_MS), ms. */
  retryMs: number;
  /** Rows kept while the database refuses writes. */
  maxBuffered: number;
  /** Total lock wait of one write attempt, ms (the worker's wait blocks no request). */
  lockWaitMs: number;
}

/**
 * Main thread → worker: a batch of rows, the JSON of the flat array; `flush` asks for a write attempt now, even
 * while a retry waits.
 */
export interface AuditBatchMessage {
  seq: number;
  rows: string;
  flush: boolean;
}

/**
 * Worker → main thread. `done`: every batch up to this seq is finished (committed, or dropped and logged);
 * `tried`: every batch up to this seq was part of a write attempt (a flush waiting on it may resolve); `trim`:
 * part of a batch was dropped; `log`: a line for the main thread's logger.
 */
export type AuditWorkerMessage =
  | { t: 'done'; done: number; tried: number }
  /** The oldest `rows` rows of batch `seq` were dropped (beyond maxBuffered, logged): not pending any more. */
  | { t: 'trim'; seq: number; rows: number }
  | { t: 'log'; event: string; fields: Record<string, unknown> };

/** Appends `e`, stamped `at`, to a flat batch. */
export function pushRow(flat: unknown[], at: number, e: AuditEvent): void {
  flat.push(at, e.principalId, e.action, e.modelId ?? null, e.version ?? null, e.path ?? null, e.bytes ?? null, e.status, e.detail ?? '');
}

/** The rows of a flat batch. */
export function decodeRows(flat: unknown[]): Array<{ at: number; e: AuditEvent }> {
  const rows: Array<{ at: number; e: AuditEvent }> = [];
  for (let i = 0; i + AUDIT_ROW_WIDTH <= flat.length; i += AUDIT_ROW_WIDTH) {
    rows.push({
      at: flat[i] as number,
      e: {
        principalId: flat[i + 1] as string | null,
        action: flat[i + 2] as AuditAction,
        modelId: flat[i + 3] as string | null,
        version: flat[i + 4] as number | null,
        path: flat[i + 5] as string | null,
        bytes: flat[i + 6] as number | null,
        status: flat[i + 7] as number,
        detail: flat[i + 8] as string,
      },
    });
  }
  return rows;
}
