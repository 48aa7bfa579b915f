/**
 * @module comments
 * Comments on model versions (wire-protocol §4.3). Any reader of the model may comment; only a comment's
 * author may edit or delete it. A caller who cannot read the model is told the comment does not exist.
 */
import type { Clock, SqlDb } from '../ports.ts';
import type { AclCache } from '../access/acl-cache.ts';
import type { Principal } from '../identity/principal.ts';
import { denied, notFound } from '../errors.ts';
import { randomHex } from '../ids.ts';
import { enforce, levelOn } from '../access/authorize.ts';
import { modelById } from './rows.ts';
import { authorizeVersion } from './versions.ts';
import type { RegistryDeps } from './models.ts';
import { commentCreatedEvent, enqueueEvent } from '../webhooks/outbox.ts';

export type CommentAction = 'EDIT_COMMENT' | 'DELETE_COMMENT';

export interface CommentRow {
  id: string;
  model_id: string;
  version: number;
  user_id: string;
  principal_id: string;
  comment: string;
  created_at: number;
  updated_at: number;
}

export interface CommentJson {
  id: string;
  comment: string;
  user_id: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  available_actions: CommentAction[];
}

type CommentDeps = RegistryDeps;

/** @example renderComment(viewer, row).available_actions // ['EDIT_COMMENT', 'DELETE_COMMENT'] for its author */
export function renderComment(viewer: Principal, row: CommentRow): CommentJson {
  return {
    id: row.id,
    comment: row.comment,
    user_id: row.user_id,
    creation_timestamp: row.created_at,
    last_updated_timestamp: row.updated_at,
    available_actions: row.principal_id === viewer.id ? ['EDIT_COMMENT', 'DELETE_COMMENT'] : [],
  };
}

/** POST comments/create: CAN_READ on the model. */
export async function createComment(
  deps: CommentDeps,
  principal: Principal,
  c: { name: string; version: number; comment: string },
): Promise<CommentJson> {
  const { model } = await authorizeVersion(deps, principal, c.name, c.version, { kind: 'view' });
  const now = deps.clock.now();
  const row: CommentRow = {
    id: randomHex(16),
    model_id: model.id,
    version: c.version,
    user_id: principal.name,
    principal_id: principal.id,
    comment: c.comment,
    created_at: now,
    updated_at: now,
  };
  // One batch with the webhook outbox (webhooks/outbox.ts): the comment and its deliveries commit together.
  await deps.db.batch([
    deps.db
      .prepare(
        `INSERT INTO comments (id, model_id, version, user_id, principal_id, comment, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .bind(row.id, row.model_id, row.version, row.user_id, row.principal_id, row.comment, row.created_at, row.updated_at),
    enqueueEvent(deps.db, commentCreatedEvent(model.id, model.name, c.version, c.comment, now)),
  ]);
  return renderComment(principal, row);
}

/** The comment, if the caller may see its model and is its author; otherwise the matching error. */
async function ownComment(deps: CommentDeps, principal: Principal, id: string, verb: string): Promise<CommentRow> {
  const { db } = deps;
  const row = await db
    .prepare('SELECT id, model_id, version, user_id, principal_id, comment, created_at, updated_at FROM comments WHERE id = ?')
    .bind(id)
    .first<CommentRow>();
  const missing = notFound(`Comment with id '${id}' not found.`);
  if (!row) throw missing;
  const model = await modelById(db, row.model_id);
  if (!model) throw missing;
  enforce(model, await levelOn(deps, principal, model), { kind: 'view' }, () => missing);
  if (row.principal_id !== principal.id) throw denied(`Only the author of a comment may ${verb} it.`);
  return row;
}

/** PATCH comments/update: the author only. */
export async function updateComment(deps: CommentDeps, principal: Principal, id: string, comment: string): Promise<CommentJson> {
  const row = await ownComment(deps, principal, id, 'edit');
  const now = deps.clock.now();
  await deps.db.prepare('UPDATE comments SET comment = ?, updated_at = ? WHERE id = ?').bind(comment, now, id).run();
  return renderComment(principal, { ...row, comment, updated_at: now });
}

/** DELETE comments/delete: the author only. */
export async function deleteComment(deps: CommentDeps, principal: Principal, id: string): Promise<void> {
  await ownComment(deps, principal, id, 'delete');
  await deps.db.prepare('DELETE FROM comments WHERE id = ?').bind(id).run();
}
