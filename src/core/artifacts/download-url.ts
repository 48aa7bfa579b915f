/**
 * @module download-url
 * The one canonical form of a signed download URL, and the artifact-path rules it relies on.
 *
 *   /api/2.0/regate/artifacts/download?mid=<model id>&ver=<version>&p=<artifact path>&t=<JWS>
 *
 * The path is fixed so the route can be public (the app exempts public routes by exact path). Model, version
 * and artifact path sit in the query before the token so access logs show what was fetched; the token is last.
 * Every component is percent-encoded with one strict encoder (only RFC 3986 unreserved characters stay, `/`
 * separates path segments), which a WHATWG URL parser leaves untouched. The route accepts a request only when
 * its raw query is byte-equal to this rendering of the token's own claims, which removes the `../`, `%2F`,
 * `//` and double-decoding classes outright: there is nothing to normalise.
 */
import { keyProblem } from '../storage/object-store.ts';

export const DOWNLOAD_PATH = '/api/2.0/regate/artifacts/download';

/** Why `p` is not a canonical relative artifact path (same rules as object keys), or null. */
export function artifactPathProblem(p: string): string | null {
  return keyProblem(p);
}

/** encodeURIComponent minus its leftovers: only A–Z a–z 0–9 - . _ ~ stay literal. */
export function strictEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** @example encodeArtifactPath('model/my file.pkl') // 'model/my%20file.pkl' */
export function encodeArtifactPath(p: string): string {
  return p.split('/').map(strictEncode).join('/');
}

export interface UrlClaims {
  mid: string;
  ver: string;
  p: string;
}

/** The canonical query string (without `?`) for a token and its claims. */
export function downloadQuery(c: UrlClaims, token: string): string {
  return `mid=${strictEncode(c.mid)}&ver=${strictEncode(c.ver)}&p=${encodeArtifactPath(c.p)}&t=${token}`;
}

/** The full signed URI. @example downloadUri('https://regate.example', claims, token) */
export function downloadUri(origin: string, c: UrlClaims, token: string): string {
  return `${origin.replace(/\/+$/, '')}${DOWNLOAD_PATH}?${downloadQuery(c, token)}`;
}

/** The raw query of a URL string (between `?` and `#`), never decoded. */
export function rawQuery(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return '';
  const hash = url.indexOf('#', q);
  return url.slice(q + 1, hash < 0 ? undefined : hash);
}

/** The `t` parameter of a raw query, only if it occurs exactly once; never decoded (a JWS needs no decoding). */
export function tokenParam(query: string): string | undefined {
  const hits = query.split('&').filter((kv) => kv.startsWith('t='));
  return hits.length === 1 ? hits[0]!.slice(2) : undefined;
}
