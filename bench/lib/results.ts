/**
 * @module results
 * What each figure hands to the report. A figure either has numbers (all of whose checks passed) or an error;
 * never numbers from a run that failed a check.
 */
import type { AbResult } from './ab.ts';
import type { Spread } from './stats.ts';

export type GoalStatus = 'met' | 'missed' | 'not judged (smoke)';

export interface Goal {
  text: string;
  status: GoalStatus;
  observed: string;
}

export interface AbFigure {
  kind: 'ab';
  id: string;
  title: string;
  peer: string;
  result: AbResult;
  goals: Goal[];
  checks: string[];
}

export interface GrowthRow {
  models: number;
  user: 'admin' | 'reader (CAN_READ on 1 %)';
  endpoint: 'registered-models/search' | 'model-versions/search';
  filter: string;
  /** Rows on the first page, and whether a next page was announced. */
  rows: number;
  more: boolean;
  p50: Spread;
  p99: Spread;
  samples: number;
  /** p50 at this size ÷ p50 of the same query at the smallest size. */
  growthP50: number;
}

export interface GrowthFigure {
  kind: 'growth';
  id: string;
  title: string;
  rows: GrowthRow[];
  seeding: string[];
  checks: string[];
  command: string;
}

export interface ExternalFigure {
  kind: 'external';
  id: string;
  title: string;
  command: string;
  status: 'ok' | 'failed';
  detail: string;
  json?: unknown;
  jsonPath?: string;
}

export interface FailedFigure {
  kind: 'failed';
  id: string;
  title: string;
  error: string;
}

export type Figure = AbFigure | GrowthFigure | ExternalFigure | FailedFigure;

/** A figure passed its checks (goals met or missed do not count: speed is never a failure). */
export function passed(f: Figure): boolean {
  return f.kind !== 'failed' && !(f.kind === 'external' && f.status === 'failed');
}
