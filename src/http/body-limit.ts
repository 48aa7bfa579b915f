/**
 * @module body-limit
 * Reads a request body with a byte limit that holds while the body streams in, the way nginx's
 * `client_max_body_size` and Go's `http.MaxBytesReader` do: a Content-Length over the limit is refused before a
 * byte is read, and a body without one (chunked) or with one that lies is counted as it arrives and cancelled
 * the moment it passes the limit. Nothing past the limit is ever buffered, so a 700 MiB body costs at most the
 * limit plus one chunk of memory, not the whole body. Every route that reads a request body goes through here
 * (JSON parameters in params.ts) or through a limiter of its own (raw uploads, limited-stream.ts).
 */
import { GatewayError } from '../core/errors.ts';
import { readAll, StreamTooLong } from '../core/artifacts/bytes.ts';

/** The refusal of an over-long body: 413, the wire's `{error_code, message}`. */
export function tooLarge(what: string, max: number): GatewayError {
  return new GatewayError('MAX_BLOCK_SIZE_EXCEEDED', `${what} is larger than the limit of ${max} bytes.`);
}

/**
 * The declared Content-Length, or undefined when there is none. A malformed one is refused: Node's parser
 * already rejects those on a real socket, this keeps in-process requests honest too.
 */
export function declaredLength(req: Request): number | undefined {
  const raw = req.headers.get('Content-Length');
  if (raw === null) return undefined;
  if (!/^[0-9]{1,16}$/.test(raw.trim())) throw new GatewayError('MALFORMED_REQUEST', 'Invalid Content-Length.');
  return Number(raw.trim());
}

/**
 * The body's bytes, at most `max` of them; throws 413 MAX_BLOCK_SIZE_EXCEEDED (having cancelled the body)
 * as soon as either the declared length or the bytes received pass `max`.
 * @example const bytes = await readBodyLimited(c.req.raw, 1024 * 1024, 'Request body');
 */
export async function readBodyLimited(req: Request, max: number, what = 'Request body'): Promise<Uint8Array> {
  const body = req.body;
  const declared = declaredLength(req);
  if (declared !== undefined && declared > max) {
    await body?.cancel().catch(() => {});
    throw tooLarge(what, max);
  }
  if (!body) return new Uint8Array(0);
  try {
    return await readAll(body, max);
  } catch (e) {
    if (e instanceof StreamTooLong) throw tooLarge(what, max);
    throw e;
  }
}
