/**
 * @module requests
 * Stage transition requests (wire-protocol §4.2): create, approve, reject, cancel and list, stored in
 * `activities`. An open request is a REQUESTED_TRANSITION row with is_open = 1; every decision closes the
 * matching requests and records its own activity in the same batch.
 */
import type { Clock, SqlDb, SqlStatement } from '../ports.ts';
import type { AclCache } from '../access/acl-cache.ts';
import type { Principal } from '../identity/principal.ts';
import { alreadyExists, invalid, notFound } from '../errors.ts';
import { randomHex } from '../ids.ts';
import { decide } from '../access/policy.ts';
import { enforce } from '../access/authorize.ts';
import type { Level } from '../access/levels.ts';
import type { Stage } from './stages.ts';
import { openRequests } from './load.ts';
import { renderActivity, type ActivityJson, type ActivityRow } from './render.ts';
import { authorizeVersion } from './versions.ts';
import type { RegistryDeps } from './models.ts';
import { applyTransition } from './transition.ts';
import { enqueueEvent, requestCreatedEvent } from '../webhooks/outbox.ts';

/** Seeing the model comes first, so that a caller without access learns nothing, then the version's existence. */
const VIEW = { kind: 'view' } as const;

export type ActivityAction = 'APPROVE_TRANSITION_REQUEST' | 'REJECT_TRANSITION_REQUEST' | 'CANCEL_TRANSITION_REQUEST';

export type RequestDeps = RegistryDeps;

export interface RequestTarget {
  name: string;
  version: number;
  stage: Stage;
  comment?: string;
}

export type RequestJson = ActivityJson & { available_actions: ActivityAction[] };

/**
 * What `viewer` may do with an open request (inferred, wire-protocol §4.2): approve/reject when its level
 * passes the stage rule of the transition the request would apply (from the version's current stage),
 * cancel when it created the request or holds CAN_MANAGE.
 * @example availableActions(viewer, 'CAN_MANAGE', 'None', request) // all three
 */
export function availableActions(viewer: Principal, level: Level, currentStage: Stage, request: ActivityRow): ActivityAction[] {
  const out: ActivityAction[] = [];
  const to = (request.to_stage ?? 'None') as Stage;
  if (decide(level, { kind: 'decide_request', from: currentStage, to }) === 'allow') {
    out.push('APPROVE_TRANSITION_REQUEST', 'REJECT_TRANSITION_REQUEST');
  }
  if (decide(level, { kind: 'cancel_request', isRequestCreator: request.principal_id === viewer.id }) === 'allow') {
    out.push('CANCEL_TRANSITION_REQUEST');
  }
  return out;
}

/** An open request and the actions its viewer may take, for `list` and `open_requests`. */
export function renderRequest(viewer: Principal, level: Level, currentStage: Stage, row: ActivityRow): RequestJson {
  return { ...renderActivity(row), available_actions: availableActions(viewer, level, currentStage, row) };
}

function newActivity(
  principal: Principal,
  now: number,
  a: { modelId: string; version: number; type: string; from: Stage | null; to: Stage | null; comment?: string; open?: boolean },
): ActivityRow {
  return {
    id: randomHex(16),
    model_id: a.modelId,
    version: a.version,
    activity_type: a.type,
    from_stage: a.from,
    to_stage: a.to,
    user_id: principal.name,
    principal_id: principal.id,
    comment: a.comment ?? '',
    system_comment: '',
    is_open: a.open ? 1 : 0,
    created_at: now,
    updated_at: now,
  };
}

function insertActivity(db: SqlDb, r: ActivityRow): SqlStatement {
  return db
    .prepare(
      `INSERT INTO activities (id, model_id, version, activity_type, from_stage, to_stage, user_id, principal_id, comment,
         system_comment, is_open, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(r.id, r.model_id, r.version, r.activity_type, r.from_stage, r.to_stage, r.user_id, r.principal_id, r.comment,
      r.system_comment, r.is_open, r.created_at, r.updated_at);
}

function closeRequests(db: SqlDb, ids: string[], now: number): SqlStatement {
  return db
    .prepare(`UPDATE activities SET is_open = 0, updated_at = ? WHERE id IN (SELECT value FROM json_each(?)) AND is_open = 1`)
    .bind(now, JSON.stringify(ids));
}

const noOpenRequest = (t: RequestTarget, creator?: string) =>
  notFound(
    `No open request to transition model version ${t.version} of '${t.name}' to stage ${t.stage}` +
      (creator === undefined ? '' : ` created by '${creator}'`) + '.',
  );

/** POST transition-requests/create: any reader may ask; one open request per creator, version and stage. */
export async function createRequest(deps: RequestDeps, principal: Principal, t: RequestTarget): Promise<RequestJson> {
  const { model, level, row } = await authorizeVersion(deps, principal, t.name, t.version, VIEW);
  enforce(model, level, { kind: 'request_transition' });
  if (row.stage === t.stage) throw invalid(`Model version ${t.version} of '${t.name}' is already in stage ${t.stage}.`);
  const open = await openRequests(deps.db, model.id, t.version);
  if (open.some((r) => r.principal_id === principal.id && r.to_stage === t.stage)) {
    throw alreadyExists(`A request by '${principal.name}' to transition model version ${t.version} of '${t.name}' to ${t.stage} is already open.`);
  }
  const a = newActivity(principal, deps.clock.now(), {
    modelId: model.id, version: t.version, type: 'REQUESTED_TRANSITION', from: row.stage, to: t.stage, comment: t.comment, open: true,
  });
  // One batch with the webhook outbox (webhooks/outbox.ts): the request and its deliveries commit together.
  await deps.db.batch([
    insertActivity(deps.db, a),
    enqueueEvent(deps.db, requestCreatedEvent(model.id, model.name, t.version, row.stage, t.stage, a.created_at)),
  ]);
  return renderRequest(principal, level, row.stage, a);
}

/**
 * POST transition-requests/approve: the approver needs the right for the transition itself, which is
 * applied (archiving checked per moved version by applyTransition) in the same batch that closes every open
 * request for that version and stage and records the approval, so a refused transition leaves them open.
 */
export async function approveRequest(
  deps: RequestDeps,
  principal: Principal,
  t: RequestTarget & { archiveExisting: boolean },
): Promise<ActivityJson> {
  const d = await decideRequest(deps, principal, t, 'APPROVED_REQUEST');
  await applyTransition(deps, principal, d.model, d.level, t.version, t.stage, t.archiveExisting, { extra: d.statements });
  return renderActivity(d.activity);
}

/** POST transition-requests/reject: the same stage rule as approving; closes every matching open request. */
export async function rejectRequest(deps: RequestDeps, principal: Principal, t: RequestTarget): Promise<ActivityJson> {
  const d = await decideRequest(deps, principal, t, 'REJECTED_REQUEST');
  await deps.db.batch(d.statements);
  return renderActivity(d.activity);
}

/**
 * What approving and rejecting share: the stage rule for the requested transition, the open requests it
 * answers (none → RESOURCE_DOES_NOT_EXIST), and the statements that close them and record the decision.
 */
async function decideRequest(deps: RequestDeps, principal: Principal, t: RequestTarget, type: 'APPROVED_REQUEST' | 'REJECTED_REQUEST') {
  const { model, level, row } = await authorizeVersion(deps, principal, t.name, t.version, VIEW);
  enforce(model, level, { kind: 'decide_request', from: row.stage, to: t.stage });
  const matching = (await openRequests(deps.db, model.id, t.version)).filter((r) => r.to_stage === t.stage);
  if (matching.length === 0) throw noOpenRequest(t);
  const now = deps.clock.now();
  const activity = newActivity(principal, now, { modelId: model.id, version: t.version, type, from: row.stage, to: t.stage, comment: t.comment });
  const statements = [closeRequests(deps.db, matching.map((r) => r.id), now), insertActivity(deps.db, activity)];
  return { model, level, activity, statements };
}

/**
 * DELETE transition-requests/delete (cancel): `creator` is the user name (or application id) the request shows
 * as its `user_id`. Names are not identities: a user deleted and made again under the same name, or a service
 * principal whose application id equals a user's name, is another principal. So the requests recorded under
 * `creator` are split by principal id: the caller's own it may cancel at any level that can see the model;
 * anyone else's need CAN_MANAGE (which then closes them all). Matches `available_actions`, which compares ids.
 */
export async function cancelRequest(
  deps: RequestDeps,
  principal: Principal,
  t: RequestTarget & { creator: string },
): Promise<ActivityJson> {
  const { model, level, row } = await authorizeVersion(deps, principal, t.name, t.version, VIEW);
  const matching = (await openRequests(deps.db, model.id, t.version)).filter(
    (r) => r.to_stage === t.stage && r.user_id === t.creator,
  );
  const mine = matching.filter((r) => r.principal_id === principal.id);
  // Naming oneself with nothing open is a 404, as before; only others' requests under that name need CAN_MANAGE.
  const isRequestCreator = matching.length === 0 ? t.creator === principal.name : mine.length > 0;
  const mayCancelOthers = decide(level, { kind: 'cancel_request', isRequestCreator: false }) === 'allow';
  if (!mayCancelOthers) enforce(model, level, { kind: 'cancel_request', isRequestCreator });
  const closing = mayCancelOthers ? matching : mine;
  if (closing.length === 0) throw noOpenRequest(t, t.creator);
  const now = deps.clock.now();
  const a = newActivity(principal, now, {
    modelId: model.id, version: t.version, type: 'CANCELLED_REQUEST', from: row.stage, to: t.stage, comment: t.comment,
  });
  await deps.db.batch([closeRequests(deps.db, closing.map((r) => r.id), now), insertActivity(deps.db, a)]);
  return renderActivity(a);
}

/** GET transition-requests/list: the open requests of one version, each with the viewer's actions. */
export async function listRequests(deps: RequestDeps, principal: Principal, name: string, version: number): Promise<RequestJson[]> {
  const { model, level, row } = await authorizeVersion(deps, principal, name, version, VIEW);
  const open = await openRequests(deps.db, model.id, version);
  return open.map((r) => renderRequest(principal, level, row.stage, r));
}
