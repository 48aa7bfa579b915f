/**
 * @module authorize
 * The one gate every model and version operation passes: find the model by name, resolve the caller's
 * level, decide. A caller who may not see the model gets exactly the answer a missing model gets.
 */
import type { Clock, SqlDb } from '../ports.ts';
import type { AclCache } from './acl-cache.ts';
import { recordAudit } from '../audit.ts';
import type { Principal } from '../identity/principal.ts';
import { GatewayError, denied, notFound } from '../errors.ts';
import { modelByName, modelById, type ModelRow } from '../registry/rows.ts';
import { decide, requiredLevel, type Ability } from './policy.ts';
import { effectiveLevel } from './resolve.ts';
import type { Level } from './levels.ts';

export const modelNotFound = (name: string) => notFound(`Registered Model with name=${name} not found`);

export interface Authorized {
  model: ModelRow;
  level: Level;
}

/** Throws unless `principal` may do `ability` on the model; check before any write. */
export function enforce(name: string, level: Level, ability: Ability): void {
  const d = decide(level, ability);
  if (d === 'hidden') throw modelNotFound(name);
  if (d === 'denied') {
    throw denied(`User does not have permission to ${describe(ability)} on registered model '${name}'. ` +
      `Required level: ${requiredLevel(ability)}; caller's level: ${level}.`);
  }
}

/** What a permission check reads: the store, the clock (for the audit trail) and, optionally, the ACL cache. */
export interface Access {
  db: SqlDb;
  clock: Clock;
  acl?: AclCache;
}

/**
 * Finds the model, decides, and records a refusal in the audit trail. The level comes from the ACL cache
 * when one is configured (compared against the model's current epoch, which is read with the row).
 * @example const { model } = await authorizeModel(deps, principal, 'm', { kind: 'edit_tags' })
 */
export async function authorizeModel(access: Access, principal: Principal, name: string, ability: Ability): Promise<Authorized> {
  const { db } = access;
  const model = await modelByName(db, name);
  if (!model) throw modelNotFound(name);
  const level = access.acl ? await access.acl.level(db, principal, model) : await effectiveLevel(db, principal, model.id);
  try {
    enforce(name, level, ability);
  } catch (e) {
    await recordAudit(db, access.clock, {
      principalId: principal.id,
      action: 'denied',
      modelId: model.id,
      status: e instanceof GatewayError ? e.status : 403,
      detail: `${ability.kind} needs ${requiredLevel(ability)}; has ${level}`,
    });
    throw e;
  }
  return { model, level };
}

/** As authorizeModel, by the model's immutable id (the Permissions API addresses models by id). */
export async function authorizeModelId(db: SqlDb, principal: Principal, id: string, ability: Ability): Promise<Authorized> {
  const model = await modelById(db, id);
  if (!model) throw notFound(`Registered model with id ${id} does not exist.`);
  const level = await effectiveLevel(db, principal, model.id);
  if (decide(level, ability) === 'hidden') throw notFound(`Registered model with id ${id} does not exist.`);
  enforce(model.name, level, ability);
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
    case 'delete':
      return 'delete';
  }
}
