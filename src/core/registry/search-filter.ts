/**
 * @module search-filter
 * MLflow's search filter strings (`name LIKE 'a%' AND tags.team = "ml"`) tokenized and parsed into a list
 * of clauses joined by AND. Pure and entity-agnostic: which fields and operators each search accepts, and
 * the SQL they become, live in filter-sql.ts. Every malformed input is INVALID_PARAMETER_VALUE.
 */
import { invalid } from '../errors.ts';

export type Token =
  | { t: 'ident'; v: string; pos: number }
  | { t: 'string'; v: string; pos: number }
  | { t: 'number'; v: number; pos: number }
  | { t: 'op'; v: CompareOp; pos: number }
  | { t: 'kw'; v: 'AND' | 'LIKE' | 'ILIKE' | 'IN'; pos: number }
  | { t: 'punct'; v: '(' | ')' | ','; pos: number };

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type Operator = CompareOp | 'LIKE' | 'ILIKE' | 'IN';
export type Value = string | number | string[];

/** One condition. `key` is set for tag clauses (`field` is then 'tag'). */
export interface Clause {
  field: string;
  key?: string;
  op: Operator;
  value: Value;
}

/** More than this many clauses is refused (each becomes bound SQL parameters; D1 allows 100 a statement). */
export const MAX_CLAUSES = 40;
/** Longest IN list accepted. */
export const MAX_IN_VALUES = 1000;

const KEYWORDS = new Set(['AND', 'LIKE', 'ILIKE', 'IN']);
const IDENT_START = /[A-Za-z_]/;
const IDENT_CHAR = /[A-Za-z0-9_]/;

export const filterError = (detail: string) => invalid(`Invalid filter string: ${detail}`);

/** Reads a quoted run starting at `i` (which holds the quote); a doubled quote stands for one quote. */
function readQuoted(s: string, i: number): { text: string; end: number } {
  const q = s[i]!;
  let text = '';
  let j = i + 1;
  for (;;) {
    if (j >= s.length) throw filterError(`unterminated quote starting at position ${i}.`);
    const ch = s[j]!;
    if (ch === q) {
      if (s[j + 1] === q) {
        text += q;
        j += 2;
        continue;
      }
      return { text, end: j + 1 };
    }
    text += ch;
    j++;
  }
}

/** @example tokenize("name = 'x'").map((t) => t.t) // ['ident', 'op', 'string'] */
export function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const ch = s[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === "'" || ch === '"') {
      const { text, end } = readQuoted(s, i);
      out.push({ t: 'string', v: text, pos: i });
      i = end;
    } else if (ch === '(' || ch === ')' || ch === ',') {
      out.push({ t: 'punct', v: ch, pos: i });
      i++;
    } else if (ch === '=' || ch === '<' || ch === '>' || ch === '!') {
      const two = s.slice(i, i + 2);
      if (two === '!=' || two === '<=' || two === '>=' || two === '<>') {
        out.push({ t: 'op', v: two === '<>' ? '!=' : (two as CompareOp), pos: i });
        i += 2;
      } else if (ch === '!') {
        throw filterError(`unexpected '!' at position ${i}.`);
      } else {
        out.push({ t: 'op', v: ch as CompareOp, pos: i });
        i++;
      }
    } else if (/[0-9]/.test(ch) || (ch === '-' && /[0-9]/.test(s[i + 1] ?? ''))) {
      const m = /^-?[0-9]+/.exec(s.slice(i))!;
      if (IDENT_CHAR.test(s[i + m[0].length] ?? '') || s[i + m[0].length] === '.') {
        throw filterError(`only integer numbers are supported (position ${i}).`);
      }
      const n = Number(m[0]);
      if (!Number.isSafeInteger(n)) throw filterError(`number out of range at position ${i}.`);
      out.push({ t: 'number', v: n, pos: i });
      i += m[0].length;
    } else if (IDENT_START.test(ch) || ch === '`') {
      const { ident, end } = readIdentifier(s, i);
      const upper = ident.toUpperCase();
      if (ch !== '`' && KEYWORDS.has(upper) && !ident.includes('.')) {
        out.push({ t: 'kw', v: upper as 'AND', pos: i });
      } else {
        out.push({ t: 'ident', v: ident, pos: i });
      }
      i = end;
    } else {
      throw filterError(`unexpected character '${ch}' at position ${i}.`);
    }
  }
  return out;
}

/**
 * An identifier: dot-separated parts, each bare (`tags`, `my_key`) or quoted with backticks or double quotes
 * after a dot (tags.`my key`, tags."my key"). Quoted parts are returned with a NUL marker so that a key that
 * itself holds a dot stays one part; parseIdentifier undoes this.
 */
function readIdentifier(s: string, i: number): { ident: string; end: number } {
  const parts: string[] = [];
  let j = i;
  for (;;) {
    const ch = s[j];
    if (ch === '`' || (ch === '"' && parts.length > 0)) {
      const { text, end } = readQuoted(s, j);
      if (text === '') throw filterError(`empty quoted identifier at position ${j}.`);
      parts.push(`\u0000${text}`);
      j = end;
    } else if (ch !== undefined && IDENT_START.test(ch)) {
      let k = j;
      while (k < s.length && (IDENT_CHAR.test(s[k]!) || s[k] === '-' || s[k] === ':' || s[k] === '/')) k++;
      parts.push(s.slice(j, k));
      j = k;
    } else {
      throw filterError(`expected an identifier at position ${j}.`);
    }
    if (s[j] !== '.') break;
    j++;
  }
  return { ident: parts.join('.'), end: j };
}

/** Splits an identifier into a field and, for tags, the tag key. */
function parseIdentifier(ident: string, pos: number): { field: string; key?: string } {
  const first = ident.split('.', 1)[0]!;
  const rest = ident.slice(first.length + 1);
  const unquote = (x: string) => x.replace(/\u0000/g, '');
  const firstName = unquote(first).toLowerCase();
  if (firstName === 'tags' || firstName === 'tag') {
    if (rest === '') throw filterError(`tag key missing after '${unquote(first)}.' at position ${pos}.`);
    return { field: 'tag', key: unquote(rest) };
  }
  if (rest !== '') throw filterError(`invalid identifier '${unquote(ident)}' at position ${pos}.`);
  return { field: firstName };
}

/**
 * Parses a whole filter string; an empty or blank one has no clauses.
 * @example parseFilter("name ILIKE '%cls%' AND tags.`team name` = 'ml'")
 */
export function parseFilter(filter: string | undefined): Clause[] {
  if (filter === undefined || filter.trim() === '') return [];
  const tokens = tokenize(filter);
  const clauses: Clause[] = [];
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++];
  for (;;) {
    const id = next();
    if (!id || id.t !== 'ident') {
      throw filterError(id ? `expected a field name at position ${id.pos}.` : 'expected a field name at the end.');
    }
    const { field, key } = parseIdentifier(id.v, id.pos);
    const opTok = next();
    let op: Operator;
    if (opTok?.t === 'op') op = opTok.v;
    else if (opTok?.t === 'kw' && opTok.v !== 'AND') op = opTok.v;
    else throw filterError(`expected an operator after '${id.v.replace(/\u0000/g, '')}'.`);
    let value: Value;
    if (op === 'IN') {
      value = parseList();
    } else {
      const v = next();
      if (!v || (v.t !== 'string' && v.t !== 'number')) {
        throw filterError(`expected a quoted string or a number after '${op}'.`);
      }
      value = v.v;
    }
    clauses.push(key === undefined ? { field, op, value } : { field, key, op, value });
    if (clauses.length > MAX_CLAUSES) throw filterError(`more than ${MAX_CLAUSES} conditions.`);
    const sep = next();
    if (!sep) return clauses;
    if (sep.t !== 'kw' || sep.v !== 'AND') {
      throw filterError(`expected AND at position ${sep.pos}; only conditions joined by AND are supported.`);
    }
    if (!peek()) throw filterError('dangling AND at the end.');
  }

  function parseList(): string[] {
    const open = next();
    if (open?.t !== 'punct' || open.v !== '(') throw filterError("expected '(' after IN.");
    const out: string[] = [];
    for (;;) {
      const v = next();
      if (!v || v.t !== 'string') throw filterError('IN takes a parenthesised list of quoted strings.');
      out.push(v.v);
      if (out.length > MAX_IN_VALUES) throw filterError(`more than ${MAX_IN_VALUES} values in an IN list.`);
      const sep = next();
      if (sep?.t === 'punct' && sep.v === ')') return out;
      if (sep?.t !== 'punct' || sep.v !== ',') throw filterError("expected ',' or ')' in an IN list.");
    }
  }
}
