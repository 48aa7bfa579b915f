/**
 * @module authorize
 * The one permission gate. Every operation that needs an ability on a model finds the model, gets the
 * caller's level from the ACL cache (checked against the epochs this request read), and decides with
 * `decide()`. A caller who may not see the model gets exactly the answer a missing model gets. Every refusal
 * is a `Refusal`, which the app's error handler records in the audit trail, so no refusal goes unrecorded.
 */
import type { SqlDb } from '../ports.ts';
import type { AclCache } from './acl-cache.ts';
import type { Principal } from '../identity/principal.ts';
import { notFound, Refusal } from '../errors.ts';
import { modelByName, modelById, type ModelRow } from '../registry/rows.ts';
import { decide, requiredLevel, type Ability } from './policy.ts';
import type { Level } from './levels.ts';

export const modelNotFound = (name: string) => notFound(`Registered Model with name=${name} not found`);

export interface Authorized {
  model: ModelRow;
  level: Level;
}

/** What a permission check reads: the store and the ACL cache. */
export interface Access {
  db: SqlDb;
  acl: AclCache;
}

/**
 * Throws a `Refusal` unless `level` allows `ability` on `model`; call before any write. A caller who may not
 * see the model gets the missing-model answer (`missing`, by default the by-name one).
 */
export function enforce(model: { id: string; name: string }, level: Level, ability: Ability, missing?: () => Error): void {
  const d = decide(level, ability);
  if (d === 'allow') return;
  const record = { action: 'denied' as const, modelId: model.id, detail: `${ability.kind} needs ${requiredLevel(ability)}; has ${level}` };
  if (d === 'hidden') {
    const m = (missing ?? (() => modelNotFound(model.name)))() as Error & { code?: string };
    throw new Refusal('RESOURCE_DOES_NOT_EXIST', m.message, record);
  }
  throw new Refusal(
    'PERMISSION_DENIED',
    `User does not have permission to ${describe(ability)} on registered model '${model.name}'. ` +
      `Required level: ${requiredLevel(ability)}; caller's level: ${level}.`,
    record,
  );
}

/** The caller's level on a model row this request read. */
export function levelOn(access: Access, principal: Principal, model: Pick<ModelRow, 'id' | 'acl_epoch'>): Promise<Level> {
  return access.acl.level(access.db, principal, model);
}

/**
 * Finds the model by name and decides.
 * @example const { model } = await authorizeModel(deps, principal, 'm', { kind: 'edit_tags' })
 */
export async function authorizeModel(access: Access, principal: Principal, name: string, ability: Ability): Promise<Authorized> {
  const model = await modelByName(access.db, name);
  if (!model) throw modelNotFound(name);
  const level = await levelOn(access, principal, model);
  enforce(model, level, ability);
  return { model, level };
}

/** As authorizeModel, by the model's immutable id (the Permissions API addresses models by id). */
export async function authorizeModelId(access: Access, principal: Principal, id: string, ability: Ability): Promise<Authorized> {
  const missing = () => notFound(`Registered model with id ${id} does not exist.`);
  const model = await modelById(access.db, id);
  if (!model) throw missing();
  const level = await levelOn(access, principal, model);
  enforce(model, level, ability, missing);
  return { model, level };
}

function describe(a: Ability): string {
  switch (a.kind) {
    case 'view':
      return 'view';
    case 'request_transition':
      return 'request a stage transition';
    case 'add_version':
      return 'add a model version';
    case 'update_description':
      return 'update the description';
    case 'edit_tags':
      return 'edit tags';
    case 'transition':
      return `transition a model version from ${a.from} to ${a.to}`;
    case 'decide_request':
      return `approve or reject a transition from ${a.from} to ${a.to}`;
    case 'cancel_request':
      return 'cancel this transition request';
    case 'rename':
      return 'rename the model';
    case 'modify_permissions':
      return 'modify permissions';
    case 'manage_webhooks':
      return 'manage webhooks';
    case 'delete':
      return 'delete';
  }
}
