/**
 * @module timers
 * The timer port: deadlines (time to first byte, idle between reads) go through it so tests drive them with a
 * manual scheduler instead of sleeping.
 */

export type TimerHandle = unknown;

export interface Timers {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The runtime's own timers. @example systemTimers.setTimeout(() => ac.abort(), 8000) */
export const systemTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};
