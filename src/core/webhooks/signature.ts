/**
 * @module signature
 * The delivery signature Databricks sends: `X-Databricks-Signature: <hex HMAC-SHA256 of the request body under
 * the webhook's secret>`. A receiver recomputes it over the raw body bytes and compares in constant time.
 * Web Crypto only, so Node and Workers sign alike.
 */

export const SIGNATURE_HEADER = 'X-Databricks-Signature';

/** @example await signBody('s3cret', '{"event":"MODEL_VERSION_CREATED"}') // 64 hex digits */
export async function signBody(secret: string, body: string): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, enc.encode(body)));
  let s = '';
  for (const b of mac) s += b.toString(16).padStart(2, '0');
  return s;
}
