/**
 * @module manual-timers
 * A Timers implementation that only fires when the test advances it, plus a way to wait until the code under
 * test has armed a timer (so the test advances at the right moment without sleeping).
 */
import type { Timers } from '../../src/core/timers.ts';

interface Pending {
  id: number;
  at: number;
  fn: () => void;
}

export interface ManualTimers extends Timers {
  /** Moves time forward, firing due timers in order. Optionally moves a manual clock along. */
  advance(ms: number): void;
  /** Timers armed and not yet fired or cleared. */
  pending(): number;
  /** Resolves once at least `n` timers are armed (0.5 s wall-clock guard against a hung test). */
  armed(n?: number): Promise<void>;
  now(): number;
}

export function manualTimers(clock?: { advance(ms: number): void }): ManualTimers {
  let now = 0;
  let seq = 0;
  const timers = new Map<number, Pending>();
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const wake = () => {
    for (const w of [...waiters]) {
      if (timers.size >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  return {
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.set(id, { id, at: now + Math.max(0, ms), fn });
      wake();
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const target = now + ms;
      for (;;) {
        const due = [...timers.values()].filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
        if (!due) break;
        timers.delete(due.id);
        clock?.advance(due.at - now);
        now = due.at;
        due.fn();
      }
      clock?.advance(target - now);
      now = target;
    },
    pending: () => timers.size,
    now: () => now,
    armed(n = 1) {
      if (timers.size >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const guard = setTimeout(() => reject(new Error(`expected ${n} armed timers, have ${timers.size}`)), 500);
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(guard);
            resolve();
          },
        });
      });
    },
  };
}
