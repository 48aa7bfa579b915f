/**
 * @module levels
 * The six permission levels of a registered model, in order (share-mlflow-models, "MLflow Model permissions").
 * `NO_PERMISSIONS` is never stored: a principal without a grant has it.
 */

export const LEVELS = [
  'NO_PERMISSIONS',
  'CAN_READ',
  'CAN_EDIT',
  'CAN_MANAGE_STAGING_VERSIONS',
  'CAN_MANAGE_PRODUCTION_VERSIONS',
  'CAN_MANAGE',
] as const;

export type Level = (typeof LEVELS)[number];
/** The levels a grant can carry (the Permissions API's RegisteredModelPermissionLevel). */
export type GrantLevel = Exclude<Level, 'NO_PERMISSIONS'>;
export const GRANT_LEVELS: readonly GrantLevel[] = LEVELS.slice(1) as GrantLevel[];

/** @example rank('CAN_EDIT') // 2 */
export function rank(level: Level): number {
  return LEVELS.indexOf(level);
}

export function isGrantLevel(x: unknown): x is GrantLevel {
  return typeof x === 'string' && (GRANT_LEVELS as readonly string[]).includes(x);
}

/** The higher of two levels. @example maxLevel('CAN_READ', 'CAN_EDIT') // 'CAN_EDIT' */
export function maxLevel(a: Level, b: Level): Level {
  return rank(a) >= rank(b) ? a : b;
}

/** Descriptions served by `permissionLevels`, paraphrasing a live workspace's. */
export const LEVEL_DESCRIPTIONS: Record<GrantLevel, string> = {
  CAN_READ: 'Can view the details of the registered model and its model versions, and use the model versions.',
  CAN_EDIT: 'Can view and edit the details of a registered model and its model versions (except stage changes), and add new model versions.',
  CAN_MANAGE_STAGING_VERSIONS:
    'Can view and edit the details of a registered model and its model versions, add new model versions, and manage stage transitions between non-Production stages.',
  CAN_MANAGE_PRODUCTION_VERSIONS:
    'Can view and edit the details of a registered model and its model versions, add new model versions, and manage stage transitions between any stages.',
  CAN_MANAGE:
    'Can manage permissions on, view all details of, and perform all actions on the registered model and its model versions.',
};
