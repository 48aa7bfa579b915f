/**
 * @module respond
 * How every answer is written: success is HTTP 200 with a JSON object (the clients accept nothing else),
 * failure is `{error_code, message}` with the status of the code.
 */
import { GatewayError } from '../core/errors.ts';
import type { Ctx } from './env.ts';

export function ok(c: Ctx, body: object = {}): Response {
  return c.json(body, 200);
}

export function errorResponse(err: GatewayError): Response {
  return new Response(JSON.stringify({ error_code: err.code, message: err.message }), {
    status: err.status,
    headers: { 'Content-Type': 'application/json', ...err.headers },
  });
}
