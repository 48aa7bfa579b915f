/**
 * @module node-server
 * The Node entry's HTTP server: @hono/node-server's `serve()` with the connection limits of server-limits.ts.
 * - Node's own timers for the request line and headers (`headersTimeout`), the whole request
 *   (`requestTimeout`, receiving only: a long download is never cut for being long) and idle keep-alive
 *   connections (`keepAliveTimeout`), checked every second instead of Node's 30 s so a limit means what it says.
 * - The send timeout is Node's socket inactivity timer (`server.timeout`): it is refreshed whenever a write to
 *   the socket is handed over or completes and whenever bytes arrive, so it costs nothing per chunk, and it
 *   fires when a client stops reading (the kernel buffers are full and the write waits) or stops sending its
 *   body. When it fires, the connection is closed if regate is waiting on the client (the answer has started,
 *   or the request body is incomplete), like nginx's send_timeout and client_body_timeout; a request whose
 *   answer regate itself is still working on is left alone (its own budgets apply). Closing the socket makes
 *   the download responder release the file handle (node-body.ts).
 * - `maxConnections`: connections beyond the cap are closed on accept, so the ones held are all served.
 * Connections closed by these limits are counted and logged at most once per LOG_EVERY_MS.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { serve } from '@hono/node-server';
import type { Logger } from '../core/ports.ts';
import type { ServerLimits } from './server-limits.ts';

/** How often the headers and request timeouts are checked (Node's default is 30 s). */
const CHECK_INTERVAL_MS = 1000;
/** Closed-connection counts are logged at most this often, so a flood of clients cannot flood the log. */
const LOG_EVERY_MS = 10_000;

export interface ServeOptions {
  /** The app's `fetch` (Hono's `app.fetch`). */
  fetch: Parameters<typeof serve>[0]['fetch'];
  port: number;
  hostname: string;
  limits: ServerLimits;
  logger?: Logger;
}

/** What the socket inactivity timer does, by the state of the request on that connection. */
export function onSendTimeout(current: { req: IncomingMessage; res: ServerResponse } | undefined): 'close' | 'wait' {
  if (!current) return 'close'; // no request: an idle connection
  // Waiting on the client: an answer it does not read, or a body it does not send.
  if (current.res.headersSent || !current.req.complete) return 'close';
  return 'wait'; // regate is still working on the answer
}

/** @example const server = serveWithLimits({ fetch: app.fetch, port: 8080, hostname: '127.0.0.1', limits }, (info) => …) */
export function serveWithLimits(o: ServeOptions, listening?: (info: AddressInfo) => void): Server {
  const { limits } = o;
  const server = serve(
    {
      fetch: o.fetch,
      port: o.port,
      hostname: o.hostname,
      serverOptions: {
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        connectionsCheckingInterval: Math.min(CHECK_INTERVAL_MS, limits.headersTimeoutMs),
      },
    },
    listening,
  ) as Server;
  server.maxConnections = limits.maxConnections;
  server.timeout = limits.sendTimeoutMs;

  const current = new WeakMap<Socket, { req: IncomingMessage; res: ServerResponse }>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const entry = { req, res };
    current.set(req.socket, entry);
    res.once('close', () => {
      if (current.get(req.socket) === entry) current.delete(req.socket);
    });
  });

  const counts = { send_timeout: 0, over_connection_cap: 0 };
  let logTimer: ReturnType<typeof setTimeout> | undefined;
  const count = (what: keyof typeof counts) => {
    counts[what]++;
    logTimer ??= setTimeout(() => {
      logTimer = undefined;
      o.logger?.warn('connections_closed', { ...counts, max_connections: limits.maxConnections, send_timeout_ms: limits.sendTimeoutMs });
      counts.send_timeout = 0;
      counts.over_connection_cap = 0;
    }, LOG_EVERY_MS).unref();
  };

  server.on('timeout', (socket: Socket) => {
    if (onSendTimeout(current.get(socket)) === 'wait') {
      socket.setTimeout(limits.sendTimeoutMs); // look again later
      return;
    }
    if (current.has(socket)) count('send_timeout');
    socket.destroy();
  });
  server.on('drop', () => count('over_connection_cap'));
  return server;
}
