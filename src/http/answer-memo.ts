/**
 * @module answer-memo
 * The last answer of a hot GET (get-signed-download-uri, registered-models/get) per caller and exact request
 * URL, served again while nothing it was computed from can have changed:
 * - the caller (id; its groups and admin flag move the global epoch), the URL as sent (origin, path and raw
 *   query: another spelling of the same parameters is another entry, computed in full);
 * - the workspace epochs the answer was computed under: `data` (any registry row: model, version, file, grant,
 *   tag), `global` (groups, principals), `keys` (the signing key a URI was minted with);
 * - a deadline: for a signed URI, the end of the window in which issued-tokens.ts hands the same token out
 *   again, so a memoised URI keeps at least two thirds of its lifetime, exactly like a fresh call.
 * So a hit answers byte for byte what the full handler would, without re-parsing, re-deciding or re-rendering;
 * every hit is still audited by the route (a memoised signing call records its own `sign_uri` row).
 * Only 200 answers are kept: refusals and misses always run in full (and are audited there).
 */
import type { Cache } from '../core/cache.ts';
import type { Clock } from '../core/ports.ts';
import type { Epochs } from '../core/access/epoch.ts';
import type { AuditEvent } from '../core/audit.ts';
import type { Ctx } from './env.ts';

export interface MemoAnswer {
  body: string;
  headers: Record<string, string>;
  /** The audit row a hit records again (signing); none for plain reads. */
  audit?: AuditEvent;
  data: number;
  global: number;
  keys: number;
  /** Clock time (ms) after which the answer is computed again. */
  until: number;
}

/** Entries kept: answers are ~1 KB, so this bounds the memo to ~20 MB. */
export const MEMO_ENTRIES = 20_000;
/** Longest a plain read's answer is reused while no epoch moves (bounds memory, not staleness). */
export const MEMO_READ_TTL_MS = 60_000;

export class AnswerMemo {
  readonly #cache: Cache<MemoAnswer>;
  readonly #clock: Clock;

  constructor(cache: Cache<MemoAnswer>, clock: Clock) {
    this.#cache = cache;
    this.#clock = clock;
  }

  static key(principalId: string, url: string): string {
    return `${principalId}\u0000${url}`;
  }

  /** The answer kept under `key`, if it was computed under `epochs` and its deadline has not passed. */
  get(key: string, epochs: Epochs): MemoAnswer | undefined {
    const hit = this.#cache.get(key);
    if (hit === undefined) return undefined;
    if (hit.data !== epochs.data || hit.global !== epochs.global || hit.keys !== epochs.keys) return undefined;
    if (this.#clock.now() >= hit.until) return undefined;
    return hit;
  }

  /** Keeps a 200 answer computed under `epochs` until `until` (ms, clock time). */
  set(key: string, epochs: Epochs, answer: Pick<MemoAnswer, 'body' | 'headers' | 'audit'>, until: number): void {
    const ttl = until - this.#clock.now();
    if (ttl <= 0) return;
    this.#cache.set(key, { ...answer, data: epochs.data, global: epochs.global, keys: epochs.keys, until }, ttl);
  }

  clear(): void {
    this.#cache.clear();
  }
}

const JSON_HEADERS: Record<string, string> = { 'Content-Type': 'application/json' };

/** What a memoised route computes on a miss. */
export interface Computed {
  json: object;
  /** Default: JSON content type only. */
  headers?: Record<string, string>;
  /** The audit row of this answer, recorded now and again on every hit. */
  audit?: AuditEvent;
  /** Clock time (ms) until which the answer may be served again; default MEMO_READ_TTL_MS from now. */
  until?: number;
}

/**
 * An authenticated GET through the memo: the kept answer (its audit row recorded again), or `compute()` rendered
 * as JSON, audited and kept.
 * @example return memoized(c, async () => ({ json: { registered_model: await getModel(deps, principal, name) } }))
 */
export async function memoized(c: Ctx, compute: () => Promise<Computed>): Promise<Response> {
  const { deps, principal } = c.var;
  const key = AnswerMemo.key(principal.id, c.req.url);
  const hit = deps.answers.get(key, principal.epochs);
  if (hit) {
    if (hit.audit) deps.audit.record(hit.audit);
    return c.body(hit.body, 200, hit.headers);
  }
  const r = await compute();
  const body = JSON.stringify(r.json);
  const headers = r.headers ?? JSON_HEADERS;
  if (r.audit) deps.audit.record(r.audit);
  deps.answers.set(key, principal.epochs, { body, headers, ...(r.audit ? { audit: r.audit } : {}) }, r.until ?? deps.clock.now() + MEMO_READ_TTL_MS);
  return c.body(body, 200, headers);
}
