/**
 * @module ids
 * Random identifiers from Web Crypto: 32-hex model/storage ids (as Databricks shows them), decimal SCIM ids,
 * and opaque token secrets.
 */

export function randomHex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** A 32-character lower-case hex id, the shape of `registered_model_databricks.id`. @example newModelId() */
export const newModelId = (): string => randomHex(16);

/**
 * A 16-digit decimal id, the shape of Databricks SCIM ids. The first digit is 1–8 so every id stays below
 * 2^53: token management sends ids as JSON numbers (`owner_id`, `created_by_id`), which must survive a double.
 */
export function newScimId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let s = String((b[0]! % 8) + 1);
  for (let i = 1; i < 16; i++) s += String(b[i]! % 10);
  return s;
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  let s = '';
  for (const x of new Uint8Array(digest)) s += x.toString(16).padStart(2, '0');
  return s;
}

/** Compares two strings in time that depends only on their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
