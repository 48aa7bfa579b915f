/**
 * @module transition
 * Moving a version between stages, shared by both transition-stage endpoints and by the approval of a
 * transition request. Every move is checked with the stage rule (staging managers within None, Staging and
 * Archived; production managers for anything touching Production), including each version that
 * `archive_existing_versions` sends to Archived, and everything is written in one batch.
 */
import type { SqlStatement } from '../ports.ts';
import type { Principal } from '../identity/principal.ts';
import { GatewayError, invalid } from '../errors.ts';
import { randomHex } from '../ids.ts';
import { enforce } from '../access/authorize.ts';
import type { Level } from '../access/levels.ts';
import { versionRow, type ModelRow, type VersionRow } from './rows.ts';
import type { Stage } from './stages.ts';
import type { RegistryDeps } from './models.ts';
import { versionNotFound } from './versions.ts';
import { enqueueEvent, transitionedEvent } from '../webhooks/outbox.ts';

export interface TransitionOptions {
  /** Record an activity of this type (e.g. APPLIED_TRANSITION) for the move itself, with `comment`. */
  activityType?: string;
  comment?: string;
  /** More statements for the same batch (e.g. closing the request being approved). */
  extra?: SqlStatement[];
}

/** Stages `archive_existing_versions` may be used with (Databricks refuses it for None and Archived). */
const ARCHIVING_TARGETS: ReadonlySet<Stage> = new Set(['Staging', 'Production']);

/**
 * Applies a transition the caller (at `level` on `model`) may make, and returns the updated version.
 * Throws INVALID_PARAMETER_VALUE for archive_existing_versions outside Staging/Production,
 * RESOURCE_DOES_NOT_EXIST for a missing version, PERMISSION_DENIED when any move is above the caller's
 * level, and RESOURCE_CONFLICT when the version's stage changed while the request was being checked.
 * @example await applyTransition(deps, principal, model, level, 3, 'Production', true)
 */
export async function applyTransition(
  deps: RegistryDeps,
  principal: Principal,
  model: ModelRow,
  level: Level,
  version: number,
  to: Stage,
  archiveExisting: boolean,
  opts: TransitionOptions = {},
): Promise<VersionRow> {
  if (archiveExisting && !ARCHIVING_TARGETS.has(to)) {
    throw invalid(`archive_existing_versions can only be true when transitioning to Staging or Production, not ${to}.`);
  }
  const db = deps.db;
  const row = await versionRow(db, model.id, version);
  if (!row) throw versionNotFound(model.name, version);
  const from = row.stage;
  enforce(model, level, { kind: 'transition', from, to });

  let archived: number[] = [];
  if (archiveExisting) {
    const others = await db
      .prepare('SELECT version FROM model_versions WHERE model_id = ? AND stage = ? AND version != ? ORDER BY version')
      .bind(model.id, to, version)
      .all<{ version: number }>();
    archived = others.map((o) => o.version);
    // Each of these moves is `to` → Archived, so one check covers them all.
    if (archived.length > 0) enforce(model, level, { kind: 'transition', from: to, to: 'Archived' });
  }

  const now = deps.clock.now();
  const activity = (v: number, type: string, f: Stage, t: Stage, comment: string, systemComment: string, onlyIfStage: Stage) =>
    db
      .prepare(
        `INSERT INTO activities (id, model_id, version, activity_type, from_stage, to_stage, user_id, principal_id, comment,
                                 system_comment, is_open, created_at, updated_at)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?
         WHERE EXISTS (SELECT 1 FROM model_versions WHERE model_id = ? AND version = ? AND stage = ?)`,
      )
      .bind(randomHex(16), model.id, v, type, f, t, principal.name, principal.id, comment, systemComment, now, now, model.id, v, onlyIfStage);

  const statements: SqlStatement[] = [
    // The check above was made for `from`; if the stage moved since, abort the whole batch (json() of
    // non-JSON raises) rather than apply a move that was never checked.
    db
      .prepare(
        `SELECT CASE WHEN EXISTS (SELECT 1 FROM model_versions WHERE model_id = ? AND version = ? AND stage = ?)
                THEN 1 ELSE json('stage changed concurrently') END AS ok`,
      )
      .bind(model.id, version, from),
  ];
  if (opts.activityType) statements.push(activity(version, opts.activityType, from, to, opts.comment ?? '', '', from));
  for (const v of archived) {
    const note = `Archived automatically because version ${version} was transitioned to ${to}.`;
    statements.push(activity(v, 'SYSTEM_TRANSITION', to, 'Archived', '', note, to));
  }
  if (archived.length > 0) {
    // Only the versions checked above, and only while they are still in `to`.
    statements.push(
      db
        .prepare(
          `UPDATE model_versions SET stage = 'Archived', updated_at = ?
           WHERE model_id = ? AND stage = ? AND version IN (SELECT value FROM json_each(?))`,
        )
        .bind(now, model.id, to, JSON.stringify(archived)),
    );
  }
  statements.push(
    db.prepare('UPDATE model_versions SET stage = ?, updated_at = ? WHERE model_id = ? AND version = ?').bind(to, now, model.id, version),
    db.prepare('UPDATE registered_models SET updated_at = ? WHERE id = ?').bind(now, model.id),
    ...(opts.extra ?? []),
    // Webhook deliveries commit with the move (webhooks/outbox.ts): the version's, then each archived one's.
    enqueueEvent(db, transitionedEvent(model.id, model.name, version, from, to, now)),
    ...archived.map((v) => enqueueEvent(db, transitionedEvent(model.id, model.name, v, to, 'Archived', now))),
  );

  try {
    await db.batch(statements);
  } catch (err) {
    const current = await versionRow(db, model.id, version);
    if (!current) throw versionNotFound(model.name, version);
    if (current.stage !== from) {
      throw new GatewayError('RESOURCE_CONFLICT', `Model Version (name=${model.name}, version=${version}) changed stage while being transitioned; retry.`);
    }
    throw err;
  }
  const updated = await versionRow(db, model.id, version);
  if (!updated) throw versionNotFound(model.name, version);
  return updated;
}
