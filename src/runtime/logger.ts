/**
 * @module logger
 * JSON-lines logger for Node: one object per line on stderr.
 */
import type { Logger } from '../core/ports.ts';

export function jsonLogger(write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const log = (level: string) => (event: string, fields: Record<string, unknown> = {}) =>
    write(`${JSON.stringify({ t: new Date().toISOString(), level, event, ...fields })}\n`);
  return { info: log('info'), warn: log('warn'), error: log('error') };
}
