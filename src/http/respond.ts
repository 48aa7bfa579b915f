/**
 * @module respond
 * How every answer is written: success is HTTP 200 with a JSON object (the clients accept nothing else),
 * failure is `{error_code, message}` with the status of the code. No error is cacheable: it depends on who
 * asked and when (a grant may come a second later), and on the download route its URL carries a credential.
 */
import { GatewayError } from '../core/errors.ts';
import type { Ctx } from './env.ts';

export function ok(c: Ctx, body: object = {}): Response {
  return c.json(body, 200);
}

export function errorResponse(err: GatewayError): Response {
  return new Response(JSON.stringify({ error_code: err.code, message: err.message }), {
    status: err.status,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...err.headers },
  });
}
