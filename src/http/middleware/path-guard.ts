/**
 * @module path-guard
 * Runs before routing and authentication: a request path must already be canonical. Repeated slashes, dot
 * segments, encoded slashes, backslashes, encoded dots and control characters are refused outright, so no
 * route ever sees a path that some other layer might normalise differently (GHSA-92pp-h63x-v22m,
 * GHSA-wc8c-qw6v-h7f6, CVE-2021-41773 classes). A malformed percent-escape (`%ZZ`, or escapes that are not
 * UTF-8 such as `%ff` or the overlong `%c0%ae`) in the path or the query is refused here too, as Go's net/http
 * does: every parameter is text, and no later decoder should have to guess what such bytes meant.
 */
import type { Context } from 'hono';
import { GatewayError } from '../../core/errors.ts';
import { percentEncodingProblem } from '../../core/percent-decoding.ts';
import type { AppEnv } from '../env.ts';

const UPLOAD_AREA = /^\/dbfs\/databricks\/mlflow\/tmp-external-source\//;

/** The raw path of a URL string, before any decoding. */
export function rawPath(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start < 0) return '/';
  const end = url.search(/[?#]/);
  return url.slice(start, end < 0 ? undefined : end);
}

/**
 * Anything any rule below looks for (an escape, a backslash, a control character, `//`, a dot segment). A path
 * without any, which is almost every request, is canonical after this one scan.
 */
const SUSPECT = /[%\\\x00-\x1f\x7f]|\/\/|\/\.\.?(?:\/|$)/;

/** Why a raw path is not canonical, or null when it is. @example pathProblem('/a//b') // 'repeated slash' */
export function pathProblem(path: string): string | null {
  if (!path.startsWith('/')) return 'relative path';
  if (!SUSPECT.test(path)) return null;
  if (path.includes('//')) return 'repeated slash';
  if (path.includes('\\') || /%5c/i.test(path)) return 'backslash';
  if (/%2f/i.test(path)) return 'encoded slash';
  if (/%2e/i.test(path)) return 'encoded dot';
  if (/%25/i.test(path)) return 'double encoding';
  if (/[\x00-\x1f\x7f]|%[01][0-9a-f]|%7f/i.test(path)) return 'control character';
  const escapes = percentEncodingProblem(path);
  if (escapes) return `malformed percent-encoding: ${escapes}`;
  for (const seg of path.split('/').slice(1)) if (seg === '.' || seg === '..') return 'dot segment';
  return null;
}

/**
 * The guard: throws a 400 GatewayError for a non-canonical target. `rawTarget` gives the request target exactly
 * as it came off the wire where the runtime has it (Node: `incoming.url`), because `new Request()` already folds
 * dot segments and backslashes; without it the guard checks the URL as the runtime delivered it.
 */
export function checkTarget(c: Context<AppEnv>, rawTarget?: (c: Context<AppEnv>) => string | undefined): void {
  const target = rawTarget?.(c);
  const path = target !== undefined ? pathOfTarget(target) : rawPath(c.req.url);
  let problem = pathProblem(path);
  // MLflow joins its upload paths as `tmp-external-source//<id>`; that one route folds slashes itself.
  if (problem === 'repeated slash' && UPLOAD_AREA.test(path)) problem = pathProblem(path.replace(/\/{2,}/g, '/'));
  if (problem) throw new GatewayError('INVALID_PARAMETER_VALUE', `Request path is not canonical (${problem}).`);
  const queryEscapes = percentEncodingProblem(rawQueryOf(target ?? c.req.url));
  if (queryEscapes) throw new GatewayError('INVALID_PARAMETER_VALUE', `Request query has malformed percent-encoding (${queryEscapes}).`);
}

/** The path of a request target: up to the first `?` or `#`. */
function pathOfTarget(target: string): string {
  for (let i = 0; i < target.length; i++) {
    const ch = target.charCodeAt(i);
    if (ch === 63 || ch === 35) return target.slice(0, i);
  }
  return target;
}

/** The raw query of a request target or URL (between the first `?` and `#`), never decoded. */
function rawQueryOf(target: string): string {
  const q = target.indexOf('?');
  if (q < 0) return '';
  const hash = target.indexOf('#', q);
  return target.slice(q + 1, hash < 0 ? undefined : hash);
}
