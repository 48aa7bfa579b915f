/**
 * @module stages
 * Model-version stages: canonical capitalisation out, case-insensitive in (MLflow model_version_stages.py).
 */
import { invalid } from '../errors.ts';

export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type Stage = (typeof STAGES)[number];

/** @example parseStage('production') // 'Production' */
export function parseStage(raw: unknown): Stage {
  if (typeof raw === 'string') {
    const hit = STAGES.find((s) => s.toLowerCase() === raw.toLowerCase());
    if (hit) return hit;
  }
  throw invalid(`Invalid Model Version stage: ${String(raw)}. Value must be one of ${STAGES.join(', ')}.`);
}

/** Stages that CAN_MANAGE_STAGING_VERSIONS may move a version between. */
export const NON_PRODUCTION: ReadonlySet<Stage> = new Set(['None', 'Staging', 'Archived']);
