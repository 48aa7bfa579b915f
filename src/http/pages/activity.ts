/**
 * @module activity
 * The activity feed of a model (requests, decisions, transitions and comments of all its versions, newest
 * first). The API has no call that lists it, so this reads the rows directly, but only after the one
 * permission gate (`authorizeModel`, ability `view`) let the caller see the model; a refusal is a Refusal,
 * recorded by the page guard as the API records it.
 */
import { authorizeModel } from '../../core/access/authorize.ts';
import type { Principal } from '../../core/identity/principal.ts';
import type { Deps } from '../env.ts';

export interface FeedItem {
  kind: 'activity' | 'comment';
  version: number;
  activityType: string;
  fromStage: string | null;
  toStage: string | null;
  userId: string;
  comment: string;
  systemComment: string;
  isOpen: boolean;
  at: number;
}

const FEED_MAX = 200;

/** @example (await modelFeed(deps, principal, 'fraud')).items[0].kind // 'comment' */
export async function modelFeed(deps: Deps, principal: Principal, name: string): Promise<{ items: FeedItem[]; openVersions: number[] }> {
  const { model } = await authorizeModel(deps, principal, name, { kind: 'view' });
  const rows = await deps.db
    .prepare(
      `SELECT 'activity' AS kind, version, activity_type, from_stage, to_stage, user_id, comment, system_comment, is_open, created_at
         FROM activities WHERE model_id = ?1
       UNION ALL
       SELECT 'comment', version, 'COMMENT', NULL, NULL, user_id, comment, '', 0, created_at FROM comments WHERE model_id = ?1
       ORDER BY created_at DESC LIMIT ${FEED_MAX}`,
    )
    .bind(model.id)
    .all<{ kind: 'activity' | 'comment'; version: number; activity_type: string; from_stage: string | null; to_stage: string | null;
      user_id: string; comment: string; system_comment: string; is_open: number; created_at: number }>();
  // Versions with an open request, however old (the feed itself is cut at FEED_MAX entries).
  const open = await deps.db
    .prepare('SELECT DISTINCT version FROM activities WHERE model_id = ? AND is_open = 1 ORDER BY version DESC')
    .bind(model.id)
    .all<{ version: number }>();
  const items = rows.map((r) => ({
    kind: r.kind, version: r.version, activityType: r.activity_type, fromStage: r.from_stage, toStage: r.to_stage,
    userId: r.user_id, comment: r.comment, systemComment: r.system_comment, isOpen: r.is_open === 1, at: r.created_at,
  }));
  return { items, openVersions: open.map((o) => o.version) };
}

/** A feed entry as a sentence. @example describe({ activityType: 'APPROVED_REQUEST', ... }) */
export function describeItem(i: FeedItem): string {
  const move = `${i.fromStage ?? 'None'} → ${i.toStage ?? 'None'}`;
  switch (i.activityType) {
    case 'COMMENT': return `${i.userId} commented on version ${i.version}`;
    case 'REQUESTED_TRANSITION': return `${i.userId} requested a transition of version ${i.version}: ${move}${i.isOpen ? ' (open)' : ''}`;
    case 'APPROVED_REQUEST': return `${i.userId} approved the transition of version ${i.version}: ${move}`;
    case 'REJECTED_REQUEST': return `${i.userId} rejected the transition of version ${i.version}: ${move}`;
    case 'CANCELLED_REQUEST': return `${i.userId} cancelled the request for version ${i.version}: ${move}`;
    case 'APPLIED_TRANSITION': return `${i.userId} transitioned version ${i.version}: ${move}`;
    case 'SYSTEM_TRANSITION': return `Version ${i.version} was moved automatically: ${move}`;
    default: return `${i.userId}: ${i.activityType.toLowerCase().replace(/_/g, ' ')} on version ${i.version}`;
  }
}
