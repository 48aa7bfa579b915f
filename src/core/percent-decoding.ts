/**
 * @module percent-decoding
 * The one way request text is percent-decoded. `decodeURIComponent` throws a URIError on an escape that is
 * not `%` + two hex digits or that does not decode to UTF-8 (`%ZZ`, `%ff`, the overlong `%c0%ae`, a lone
 * surrogate `%ed%a0%80`); that is the caller's malformed input, so it becomes a 400 INVALID_PARAMETER_VALUE
 * here instead of escaping to the generic 500. `percentEncodingProblem` lets the path guard refuse such a
 * request target before routing (Go's net/http and nginx answer 400 to an invalid escape in the target).
 */
import { invalid } from './errors.ts';

/** Any escape that is not `%` followed by two hex digits (RFC 3986 §2.1 pct-encoded). */
const BAD_ESCAPE = /%(?![0-9a-f]{2})/i;

/**
 * Why `text` is not well-formed percent-encoded UTF-8, or null when it is.
 * @example percentEncodingProblem('a%20b') // null
 * @example percentEncodingProblem('%c0%ae') // 'percent-escapes that are not UTF-8'
 */
export function percentEncodingProblem(text: string): string | null {
  if (!text.includes('%')) return null;
  if (BAD_ESCAPE.test(text)) return "a '%' not followed by two hex digits";
  try {
    decodeURIComponent(text);
  } catch (e) {
    if (e instanceof URIError) return 'percent-escapes that are not UTF-8';
    throw e;
  }
  return null;
}

/**
 * `decodeURIComponent` for request input: malformed input is a 400 naming `what`, never a URIError.
 * @example decodeRequestComponent('a%20b', 'model name') // 'a b'
 */
export function decodeRequestComponent(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch (e) {
    if (!(e instanceof URIError)) throw e;
    const shown = text.length > 200 ? `${text.slice(0, 200)}…` : text;
    throw invalid(`Invalid ${what} '${shown}': ${percentEncodingProblem(text) ?? 'malformed percent-encoding'}.`);
  }
}
