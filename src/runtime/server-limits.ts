/**
 * @module server-limits
 * The connection limits of the Node entry, parsed once from the environment at start-up (a bad value stops
 * start-up with a message naming the variable). Without them a client could hold a connection, a socket, a file
 * handle and memory forever: by never reading a download, by sending half a header, by idling, or by opening
 * connections until the process runs out of file descriptors and every other request fails.
 *
 * | variable | what | default (like) |
 * |---|---|---|
 * | REGATE_SEND_TIMEOUT_SECONDS | a request whose connection moves no byte either way for this long while regate waits on the client (a response it cannot write, a body that does not come) is closed | 60 (nginx send_timeout, client_body_timeout) |
 * | REGATE_HEADERS_TIMEOUT_SECONDS | the request line and headers must arrive within this of the connection (or of the previous response) | 20 (nginx client_header_timeout is 60; HAProxy advises 10) |
 * | REGATE_REQUEST_TIMEOUT_SECONDS | the whole request, body included, must arrive within this (0: no limit); never applies to sending the answer | 3600 (a 5 GiB upload at 1.5 MB/s) |
 * | REGATE_KEEP_ALIVE_TIMEOUT_SECONDS | an idle keep-alive connection is closed after this | 5 (Node's default) |
 * | REGATE_MAX_CONNECTIONS | connections beyond this are closed as soon as they are accepted | min(4096, (open-file limit − 128) / 2) |
 *
 * The connection cap leaves two descriptors per connection (its socket and the file it may be reading or
 * writing) plus a reserve for the database and logs, so the process never hits EMFILE and the connections it
 * holds are all served; a cap the descriptor limit cannot honour is a start-up error.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../core/config.ts';

export interface ServerLimits {
  sendTimeoutMs: number;
  headersTimeoutMs: number;
  /** 0: no limit. */
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

export const DEFAULT_SEND_TIMEOUT_SECONDS = 60;
export const DEFAULT_HEADERS_TIMEOUT_SECONDS = 20;
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 3600;
export const DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS = 5;
/** Upper bound of the default connection cap: each connection can cost memory too (see node-body.ts). */
export const DEFAULT_MAX_CONNECTIONS = 4096;
/** Descriptors kept for everything that is not a connection: SQLite and its journal, logs, key files, stdio. */
export const RESERVED_FDS = 128;

/** The soft limit on open files (`ulimit -n`), from /proc on Linux; undefined where that cannot be read. */
export function openFileLimit(read: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(read());
    if (!m) return undefined;
    return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  } catch {
    return undefined;
  }
}

function seconds(env: Record<string, string | undefined>, name: string, fallback: number, min: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback * 1000;
  const n = /^[0-9]{1,7}(\.[0-9]{1,3})?$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= 86_400)) {
    throw new ConfigError(`${name} must be a number of seconds from ${min} to 86400${min === 0 ? ' (0: no limit)' : ''}, got ${text}`);
  }
  return Math.round(n * 1000);
}

/**
 * @example parseServerLimits(process.env) // → { sendTimeoutMs: 60000, …, maxConnections: 4096 }
 * `fdLimit` is the open-file limit to size the default cap by (tests pass their own).
 */
export function parseServerLimits(env: Record<string, string | undefined>, fdLimit: number | undefined = openFileLimit()): ServerLimits {
  const sendTimeoutMs = seconds(env, 'REGATE_SEND_TIMEOUT_SECONDS', DEFAULT_SEND_TIMEOUT_SECONDS, 0.001);
  const headersTimeoutMs = seconds(env, 'REGATE_HEADERS_TIMEOUT_SECONDS', DEFAULT_HEADERS_TIMEOUT_SECONDS, 0.001);
  const requestTimeoutMs = seconds(env, 'REGATE_REQUEST_TIMEOUT_SECONDS', DEFAULT_REQUEST_TIMEOUT_SECONDS, 0);
  const keepAliveTimeoutMs = seconds(env, 'REGATE_KEEP_ALIVE_TIMEOUT_SECONDS', DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS, 0.001);
  if (requestTimeoutMs !== 0 && requestTimeoutMs < headersTimeoutMs) {
    throw new ConfigError(
      `REGATE_REQUEST_TIMEOUT_SECONDS (${requestTimeoutMs / 1000}) must not be shorter than REGATE_HEADERS_TIMEOUT_SECONDS (${headersTimeoutMs / 1000}): the headers are part of the request`,
    );
  }
  // Two descriptors per connection (socket + file) and a reserve for the rest of the process.
  const fdRoom = fdLimit === undefined ? undefined : Math.floor((fdLimit - RESERVED_FDS) / 2);
  let maxConnections: number;
  const raw = env.REGATE_MAX_CONNECTIONS;
  if (raw === undefined || raw === '') {
    maxConnections = Math.min(DEFAULT_MAX_CONNECTIONS, fdRoom ?? DEFAULT_MAX_CONNECTIONS);
    if (maxConnections < 1) throw new ConfigError(`The open-file limit (ulimit -n) is ${fdLimit}: too low to serve anything; raise it above ${RESERVED_FDS + 2}`);
  } else {
    maxConnections = /^[0-9]{1,7}$/.test(raw) ? Number(raw) : NaN;
    if (!(maxConnections >= 1 && maxConnections <= 1_000_000)) throw new ConfigError(`REGATE_MAX_CONNECTIONS must be an integer from 1 to 1000000, got ${raw}`);
    if (fdRoom !== undefined && maxConnections > fdRoom) {
      throw new ConfigError(
        `REGATE_MAX_CONNECTIONS=${maxConnections} needs about ${2 * maxConnections + RESERVED_FDS} file descriptors (a socket and a file each, plus ${RESERVED_FDS}); the open-file limit (ulimit -n) is ${fdLimit}: raise the limit or set at most ${fdRoom}`,
      );
    }
  }
  return { sendTimeoutMs, headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, maxConnections };
}
