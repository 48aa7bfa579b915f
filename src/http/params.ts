/**
 * @module params
 * Reads request parameters the way the clients send them: GET from the query string (repeated keys for
 * lists), POST/PATCH/PUT from a JSON object body, DELETE from either (MLflow sends a body, the SDK a query).
 * Every getter validates type and length and throws INVALID_PARAMETER_VALUE, never a 500. A body over 1 MiB is
 * refused (413) as soon as that many bytes have arrived, never read whole.
 */
import { GatewayError, invalid } from '../core/errors.ts';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from './json-depth.ts';
import type { Ctx } from './env.ts';
import { readBodyLimited } from './body-limit.ts';

/** Largest JSON body, bytes: refused with 413 while it streams in (body-limit.ts), never read whole first. */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

export class Params {
  readonly values: Record<string, unknown>;
  constructor(values: Record<string, unknown>) {
    this.values = values;
  }

  has(key: string): boolean {
    return this.values[key] !== undefined && this.values[key] !== null;
  }

  /** A string parameter. Required unless `opts.optional`; absent optional gives undefined. */
  str(key: string, opts: { optional: true; max?: number; allowEmpty?: boolean }): string | undefined;
  str(key: string, opts?: { optional?: false; max?: number; allowEmpty?: boolean }): string;
  str(key: string, opts: { optional?: boolean; max?: number; allowEmpty?: boolean } = {}): string | undefined {
    const v = this.values[key];
    if (v === undefined || v === null) {
      if (opts.optional) return undefined;
      throw invalid(`Missing value for required parameter '${key}'.`);
    }
    if (typeof v !== 'string') throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${key}': expected a string.`);
    if (!opts.optional && !opts.allowEmpty && v.length === 0) throw invalid(`Missing value for required parameter '${key}'.`);
    const max = opts.max ?? 65536;
    if (v.length > max) throw invalid(`Parameter '${key}' is longer than ${max} characters.`);
    return v;
  }

  /** A boolean: JSON true/false, or the query strings "true"/"false". */
  bool(key: string, fallback: boolean): boolean {
    const v = this.values[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'True') return true;
    if (v === 'false' || v === 'False') return false;
    throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${key}': expected a boolean.`);
  }

  /** A non-negative integer given as a JSON number or a decimal string. */
  int(key: string, opts: { min?: number; max?: number; fallback?: number } = {}): number | undefined {
    const v = this.values[key];
    if (v === undefined || v === null || v === '') return opts.fallback;
    let n: number;
    if (typeof v === 'number') n = v;
    else if (typeof v === 'string' && /^-?[0-9]{1,15}$/.test(v)) n = Number(v);
    else throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${key}': expected an integer.`);
    if (!Number.isSafeInteger(n)) throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${key}': expected an integer.`);
    if (opts.min !== undefined && n < opts.min) throw invalid(`Parameter '${key}' must be at least ${opts.min}, got ${n}.`);
    if (opts.max !== undefined && n > opts.max) throw invalid(`Parameter '${key}' must be at most ${opts.max}, got ${n}.`);
    return n;
  }

  /** A list of strings: a JSON array, repeated query keys, or one value. */
  strList(key: string): string[] {
    const v = this.values[key];
    if (v === undefined || v === null) return [];
    const list = Array.isArray(v) ? v : [v];
    for (const x of list) {
      if (typeof x !== 'string') throw invalid(`Invalid value for parameter '${key}': expected a list of strings.`);
    }
    return list as string[];
  }

  /** A list of JSON objects (tags, access control entries). */
  objList(key: string): Record<string, unknown>[] {
    const v = this.values[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'object' || x === null || Array.isArray(x))) {
      throw invalid(`Invalid value for parameter '${key}': expected a list of objects.`);
    }
    return v as Record<string, unknown>[];
  }
}

function queryValues(c: Ctx): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, vs] of Object.entries(c.req.queries())) out[k] = vs.length === 1 ? vs[0] : vs;
  return out;
}

async function bodyValues(c: Ctx): Promise<Record<string, unknown>> {
  const text = new TextDecoder().decode(await readBodyLimited(c.req.raw, MAX_JSON_BODY_BYTES));
  if (text.trim() === '') return {};
  if (exceedsJsonDepth(text)) throw new GatewayError('MALFORMED_REQUEST', `Request body nests deeper than ${MAX_JSON_DEPTH} levels.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new GatewayError('MALFORMED_REQUEST', 'Request body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GatewayError('MALFORMED_REQUEST', 'Request body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

/** @example const p = await params(c); const name = p.str('name', { max: 256 }); */
export async function params(c: Ctx): Promise<Params> {
  const method = c.req.method;
  if (method === 'GET' || method === 'HEAD') return new Params(queryValues(c));
  const body = await bodyValues(c);
  return new Params(method === 'DELETE' ? { ...queryValues(c), ...body } : body);
}
