/**
 * @module clock
 * The two clocks: the system one (the only place the core reads wall time) and a settable one for tests.
 */
import type { Clock } from './ports.ts';

/** @example const clock = systemClock; clock.now() */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to. @example const c = manualClock(0); c.advance(1000) */
export function manualClock(start: number): Clock & { advance(ms: number): void; set(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
    set(ms: number) {
      t = ms;
    },
  };
}
