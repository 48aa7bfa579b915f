/**
 * @module node-sweeps
 * What a crash leaves in the data directory, cleaned up by the Node entry at start and then periodically:
 * temp files of uploads cut short by `kill -9` or a power cut (`<data>/artifacts/.regate-tmp`, up to a whole
 * upload each; on S3, multipart uploads left open, s3-multipart-sweep.ts), and managed files whose version or
 * model row is gone (core/artifacts/sweep.ts). Both are
 * cheap when there is nothing to do: one directory read, one listing of `registry/` and one query per 90
 * storage ids.
 */
import type { Clock, Logger, SqlDb } from '../core/ports.ts';
import { OrphanSweeper } from '../core/artifacts/sweep.ts';
import type { ObjectStore } from '../core/storage/object-store.ts';

/**
 * A store that removes what interrupted uploads left, untouched for an age: FsObjectStore's temp files, or
 * S3ObjectStore's multipart uploads (a process killed mid-upload leaves their parts billed in the bucket).
 */
export type SweepableStore = ObjectStore & { sweepTemp(olderThanMs: number, nowMs: number): Promise<number> };

/** Whether `store` leaves anything to sweep (memory stores do not: nothing outlives the process). */
export function isSweepable(store: ObjectStore): store is SweepableStore {
  return typeof (store as Partial<SweepableStore>).sweepTemp === 'function';
}

/** Temp files untouched for this long belong to no upload in flight (an upload writes at least every 1 MiB). */
export const DEFAULT_TEMP_AGE_SECONDS = 3600;
/** Period of the sweeps after the one at start. */
export const DEFAULT_SWEEP_INTERVAL_SECONDS = 600;

export interface SweepSettings {
  tempAgeMs: number;
  /** 0: only at start. */
  intervalMs: number;
}

function seconds(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback * 1000;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new Error(`${name} must be a whole number of seconds, got '${raw}'.`);
  return n * 1000;
}

/** REGATE_SWEEP_TEMP_AGE_SECONDS and REGATE_SWEEP_INTERVAL_SECONDS, with their defaults. */
export function sweepSettings(env: Record<string, string | undefined>): SweepSettings {
  return {
    tempAgeMs: seconds(env, 'REGATE_SWEEP_TEMP_AGE_SECONDS', DEFAULT_TEMP_AGE_SECONDS),
    intervalMs: seconds(env, 'REGATE_SWEEP_INTERVAL_SECONDS', DEFAULT_SWEEP_INTERVAL_SECONDS),
  };
}

export interface Sweeps {
  /** One round of both sweeps (what start and every period run). */
  run(): Promise<{ tempFiles: number; orphanObjects: number }>;
  /** Stops the periodic sweeps. */
  stop(): void;
}

/**
 * Runs one round now (awaited, so the process serves only once a crash's leftovers are gone) and then every
 * `intervalMs` on an unref'd timer. A failing round is logged and retried at the next period.
 */
export async function startSweeps(
  deps: { store: SweepableStore; db: SqlDb; clock: Clock; logger: Logger },
  settings: SweepSettings,
): Promise<Sweeps> {
  const orphans = new OrphanSweeper({ db: deps.db, objectStore: deps.store, clock: deps.clock, logger: deps.logger });
  const run = async () => {
    // File ages are wall-clock times, whatever clock the rest of the app runs on.
    const tempFiles = await deps.store.sweepTemp(settings.tempAgeMs, Date.now());
    if (tempFiles > 0) deps.logger.info('temp_files_removed', { count: tempFiles });
    const r = await orphans.sweep();
    return { tempFiles, orphanObjects: r.objects };
  };
  // Clean-up failing (an S3 store not answering yet, say) must not stop regate from serving: logged, retried later.
  await run().catch((err: unknown) => deps.logger.warn('sweep_failed', { error: err instanceof Error ? err.message : String(err) }));
  let timer: ReturnType<typeof setInterval> | undefined;
  if (settings.intervalMs > 0) {
    timer = setInterval(() => {
      run().catch((err: unknown) => deps.logger.warn('sweep_failed', { error: err instanceof Error ? err.message : String(err) }));
    }, settings.intervalMs);
    timer.unref();
  }
  return { run, stop: () => clearInterval(timer) };
}
