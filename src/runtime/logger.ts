/**
 * @module logger
 * JSON-lines logger for Node: one object per line on stderr, stamped from the injected clock.
 */
import type { Clock, Logger } from '../core/ports.ts';
import { systemClock } from '../core/clock.ts';

export function jsonLogger(clock: Clock = systemClock, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const log = (level: string) => (event: string, fields: Record<string, unknown> = {}) =>
    write(`${JSON.stringify({ t: new Date(clock.now()).toISOString(), level, event, ...fields })}\n`);
  return { info: log('info'), warn: log('warn'), error: log('error') };
}
