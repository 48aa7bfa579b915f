/**
 * @module json-depth
 * How deeply a request's JSON nests, read from the text before it is parsed. `JSON.parse` copes with any
 * depth, but every recursive walk after it does not: `JSON.stringify` in an error message overflowed the
 * stack on `{"name": [[[[…]]]]}` and answered 500. No request regate serves nests more than a few levels
 * (SCIM PATCH operations are the deepest, at 4), so bodies past MAX_JSON_DEPTH are refused as malformed,
 * as Go's encoding/json refuses past its own limit.
 */

/** The deepest nesting of arrays and objects a request body may have. */
export const MAX_JSON_DEPTH = 64;

/**
 * True when `text` opens more than `max` arrays or objects inside each other. A linear scan that skips
 * string contents (and their escapes); it does not validate the JSON, which the parser does after.
 * @example exceedsJsonDepth('{"a":[1]}', 1) // true
 */
export function exceedsJsonDepth(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c /* \ */) i++;
      else if (ch === 0x22 /* " */) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x5b /* [ */ || ch === 0x7b /* { */) {
      if (++depth > max) return true;
    } else if (ch === 0x5d /* ] */ || ch === 0x7d /* } */) depth--;
  }
  return false;
}
