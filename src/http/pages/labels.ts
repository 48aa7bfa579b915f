/**
 * @module labels
 * How levels are named on the pages (the document's words), and how times are shown.
 */
import type { Level } from '../../core/access/levels.ts';

const LEVEL_LABELS: Record<string, string> = {
  NO_PERMISSIONS: 'No permissions',
  CAN_READ: 'Can Read',
  CAN_EDIT: 'Can Edit',
  CAN_MANAGE_STAGING_VERSIONS: 'Can Manage Staging Versions',
  CAN_MANAGE_PRODUCTION_VERSIONS: 'Can Manage Production Versions',
  CAN_MANAGE: 'Can Manage',
  CAN_CREATE_REGISTERED_MODEL: 'Can Create Registered Model',
};

export const levelLabel = (level: Level | string): string => LEVEL_LABELS[level] ?? level;

/** @example timeText(0) // '1970-01-01 00:00 UTC' */
export function timeText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}
