/**
 * @module context
 * The settings of one benchmark run, shared by every figure: smoke or full sizes, wrk's shape, rounds, bounds.
 */
import type { AbSettings } from './ab.ts';

export interface RunContext extends AbSettings {
  smoke: boolean;
  /** A fresh temporary directory for this run (data dirs, logs, nginx prefix); removed at the end unless --keep. */
  workDir: string;
  /** Size of the artifact figure 2 serves (and figure 1 signs). */
  fileBytes: number;
  /** Figure 5: model counts, ascending. */
  growthSizes: number[];
  /** Figure 5: per query and round, at most this many sequential requests, for at most this long. */
  growthMaxCount: number;
  growthMinCount: number;
  growthMaxMs: number;
  /** Figure 5: concurrent HTTP requests while seeding, and the time limit for seeding all models. */
  seedConcurrency: number;
  seedDeadlineMs: number;
}
