/**
 * @module jws
 * Hand-made compact JWS for attack tests: any header (jose's signer refuses some, e.g. unknown `crit`), signed
 * with Web Crypto directly.
 */
const b64 = (bytes: Uint8Array | string) =>
  Buffer.from(typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes).toString('base64url');

export async function craftJws(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: CryptoKey | { hmacSecret: Uint8Array } | 'none',
): Promise<string> {
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}`;
  if (key === 'none') return `${input}.`;
  if ('hmacSecret' in key) {
    const k = await crypto.subtle.importKey('raw', key.hmacSecret as Uint8Array<ArrayBuffer>, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return `${input}.${b64(new Uint8Array(await crypto.subtle.sign('HMAC', k, new TextEncoder().encode(input))))}`;
  }
  return `${input}.${b64(new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key, new TextEncoder().encode(input))))}`;
}
