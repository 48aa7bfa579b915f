/**
 * @module audit
 * The audit trail: grant changes, denials, signed-URI issues and downloads, with principal, model id, version,
 * path, bytes and status. Never a token or a signed URI.
 */
import type { Clock, SqlDb, SqlStatement } from './ports.ts';

export type AuditAction = 'grant_change' | 'denied' | 'sign_uri' | 'download' | 'raw_path_refused';

export interface AuditEvent {
  principalId: string | null;
  action: AuditAction;
  modelId?: string | null;
  version?: number | null;
  path?: string | null;
  bytes?: number | null;
  status: number;
  detail?: string;
}

/** A statement recording `e`, to run alone or inside the batch of the change it records. */
export function auditStatement(db: SqlDb, clock: Clock, e: AuditEvent): SqlStatement {
  return db
    .prepare('INSERT INTO audit (at, principal_id, action, model_id, version, path, bytes, status, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
    .bind(clock.now(), e.principalId, e.action, e.modelId ?? null, e.version ?? null, e.path ?? null, e.bytes ?? null, e.status, (e.detail ?? '').slice(0, 1000));
}

export async function recordAudit(db: SqlDb, clock: Clock, e: AuditEvent): Promise<void> {
  await auditStatement(db, clock, e).run();
}

export interface AuditRow {
  id: number;
  at: number;
  principal_id: string | null;
  action: AuditAction;
  model_id: string | null;
  version: number | null;
  path: string | null;
  bytes: number | null;
  status: number;
  detail: string;
}

/** Newest first, `limit` rows from before `beforeId`. */
export async function listAudit(db: SqlDb, f: { modelId?: string; principalId?: string; action?: string; beforeId?: number; limit: number }): Promise<AuditRow[]> {
  return db
    .prepare(
      `SELECT id, at, principal_id, action, model_id, version, path, bytes, status, detail FROM audit
       WHERE (?1 IS NULL OR model_id = ?1) AND (?2 IS NULL OR principal_id = ?2) AND (?3 IS NULL OR action = ?3)
         AND (?4 IS NULL OR id < ?4)
       ORDER BY id DESC LIMIT ?5`,
    )
    .bind(f.modelId ?? null, f.principalId ?? null, f.action ?? null, f.beforeId ?? null, f.limit)
    .all<AuditRow>();
}
