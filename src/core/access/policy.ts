/**
 * @module policy
 * The ability table of share-mlflow-models as a pure function: given the caller's effective level on a model
 * and what they want to do, decide. No I/O; resolution of the level lives in resolve.ts.
 */
import { rank, type Level } from './levels.ts';
import { NON_PRODUCTION, type Stage } from '../registry/stages.ts';

export type Ability =
  | { kind: 'view' }
  | { kind: 'request_transition' }
  | { kind: 'add_version' }
  | { kind: 'update_description' }
  | { kind: 'edit_tags' }
  | { kind: 'transition'; from: Stage; to: Stage }
  | { kind: 'decide_request'; from: Stage; to: Stage }
  | { kind: 'cancel_request'; isRequestCreator: boolean }
  | { kind: 'rename' }
  | { kind: 'modify_permissions' }
  | { kind: 'manage_webhooks' }
  | { kind: 'delete' };

/**
 * `hidden`: the caller may not even see the model and must get the answer a missing model gets.
 * `denied`: the caller sees the model but lacks the level (403).
 */
export type Decision = 'allow' | 'denied' | 'hidden';

/** The lowest level that has an ability, or null when the ability does not depend on the level alone. */
export function requiredLevel(ability: Ability): Level {
  switch (ability.kind) {
    case 'view':
    case 'request_transition':
      return 'CAN_READ';
    case 'add_version':
    case 'update_description':
    case 'edit_tags':
      return 'CAN_EDIT';
    case 'transition':
    case 'decide_request':
      // Between None, Archived and Staging only: staging managers. Any move touching Production: production managers.
      return NON_PRODUCTION.has(ability.from) && NON_PRODUCTION.has(ability.to)
        ? 'CAN_MANAGE_STAGING_VERSIONS'
        : 'CAN_MANAGE_PRODUCTION_VERSIONS';
    case 'cancel_request':
      return ability.isRequestCreator ? 'CAN_READ' : 'CAN_MANAGE';
    case 'rename':
    case 'modify_permissions':
    case 'manage_webhooks':
    case 'delete':
      return 'CAN_MANAGE';
  }
}

/**
 * @example decide('CAN_READ', { kind: 'edit_tags' }) // 'denied'
 * @example decide('NO_PERMISSIONS', { kind: 'view' }) // 'hidden'
 */
export function decide(level: Level, ability: Ability): Decision {
  if (rank(level) < rank('CAN_READ')) return 'hidden';
  return rank(level) >= rank(requiredLevel(ability)) ? 'allow' : 'denied';
}
