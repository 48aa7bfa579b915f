/**
 * @module object-responder
 * The last step of a download: an open storage read becomes the response body. The download route decides
 * status and headers (exact Content-Length) and hands them over with the read and its guard; a runtime may
 * supply its own responder (`Deps.respondObject`) that writes the bytes to its socket without web streams
 * (Node: src/runtime/node-body.ts) and falls back to this portable one whenever it cannot.
 */
import type { GetResult } from '../storage/object-store.ts';
import { guardBody, type GuardOptions } from './guarded-body.ts';

/** What the route hands over: `expected` (the declared length), the idle budget, `abortUpstream` and `onEnd`. */
export interface ObjectReply extends GuardOptions {
  status: number;
  /** Final response headers, Content-Length included. */
  headers: Record<string, string>;
  /** The storage read; the responder takes its bytes (`body` or `nodeStream()`) and owns them from then on. */
  result: GetResult;
}

/**
 * Turns a storage read into the response. `bindings` are the runtime's per-request bindings (Hono's `c.env`),
 * where a runtime responder finds its connection; in-process requests have none.
 * Every responder keeps the guard's promises: exactly `expected` bytes or an aborted connection (never a clean
 * short end), the idle budget, the storage read released when the client leaves, and `onEnd` called once
 * with the outcome and the bytes written.
 */
export type ObjectResponder = (reply: ObjectReply, bindings: unknown) => Response;

/** The portable responder (web APIs only): the guarded web stream as the Response body. */
export const respondWithStream: ObjectResponder = (reply) =>
  new Response(guardBody(reply.result.body, reply), { status: reply.status, headers: reply.headers });
