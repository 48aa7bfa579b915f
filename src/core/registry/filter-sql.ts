/**
 * @module filter-sql
 * Parsed filter clauses compiled to parameterised SQL for the two searches. Registered models (alias `m`)
 * accept `name` and `tags.<key>`; model versions (alias `v`, joined to `m`) also accept `run_id`,
 * `source_path` and `version_number`. Values are always bound, never spliced into the SQL text.
 * LIKE is case-sensitive as in MLflow (compiled to GLOB); ILIKE is SQLite's ASCII case-insensitive LIKE.
 * No bound pattern exceeds D1's 50-byte LIKE / GLOB limit, whatever the filter's length (long-like.ts).
 */
import type { SqlValue } from '../ports.ts';
import { filterError, parseFilter, type Clause, type Operator } from './search-filter.ts';
import { likeCondition } from './long-like.ts';

export interface SqlCondition {
  /** Conditions to AND together; empty means no filter. */
  where: string[];
  binds: SqlValue[];
}

const STRING_OPS: readonly Operator[] = ['=', '!=', 'LIKE', 'ILIKE'];
const NUMBER_OPS: readonly Operator[] = ['=', '!=', '<', '<=', '>', '>='];

/** A LIKE pattern (`%`, `_`, no escape character) as the equivalent GLOB pattern, which is case-sensitive. */
export function likeToGlob(pattern: string): string {
  let out = '';
  for (const ch of pattern) {
    if (ch === '%') out += '*';
    else if (ch === '_') out += '?';
    else if (ch === '*' || ch === '?' || ch === '[') out += `[${ch}]`;
    else out += ch;
  }
  return out;
}

function describe(c: Clause): string {
  return c.field === 'tag' ? `tags.${c.key}` : c.field;
}

/** `column <op> ?` for a string comparison, with its bound value. */
function stringCompare(column: string, c: Clause): { sql: string; bind: SqlValue } {
  if (!STRING_OPS.includes(c.op)) {
    throw filterError(`operator '${c.op}' is not supported for '${describe(c)}'; use one of ${STRING_OPS.join(', ')}.`);
  }
  if (typeof c.value !== 'string') throw filterError(`'${describe(c)}' must be compared with a quoted string.`);
  // Patterns over D1's 50-byte LIKE limit become an equivalent condition of short ones (long-like.ts).
  if (c.op === 'LIKE') return likeCondition(column, c.value, 'GLOB', likeToGlob);
  if (c.op === 'ILIKE') return likeCondition(column, c.value, 'LIKE', (s) => s);
  return { sql: `${column} ${c.op} ?`, bind: c.value };
}

function tagCondition(table: 'model_tags' | 'version_tags', owner: string, c: Clause): { sql: string; binds: SqlValue[] } {
  const cmp = stringCompare('t.value', c);
  return {
    sql: `EXISTS (SELECT 1 FROM ${table} t WHERE ${owner} AND t.key = ? AND ${cmp.sql})`,
    binds: [c.key!, cmp.bind],
  };
}

/**
 * @example compileModelFilter("name LIKE 'fraud%'") // { where: ['m.name GLOB ?'], binds: ['fraud*'] }
 */
export function compileModelFilter(filter: string | undefined): SqlCondition {
  const out: SqlCondition = { where: [], binds: [] };
  for (const c of parseFilter(filter)) {
    if (c.field === 'name') {
      const cmp = stringCompare('m.name', c);
      out.where.push(cmp.sql);
      out.binds.push(cmp.bind);
    } else if (c.field === 'tag') {
      const t = tagCondition('model_tags', 't.model_id = m.id', c);
      out.where.push(t.sql);
      out.binds.push(...t.binds);
    } else {
      throw filterError(`invalid attribute '${c.field}' for registered models; valid ones are 'name' and 'tags.<key>'.`);
    }
  }
  return out;
}

/**
 * @example compileVersionFilter("name = 'm' AND run_id IN ('a', 'b')")
 */
export function compileVersionFilter(filter: string | undefined): SqlCondition {
  const out: SqlCondition = { where: [], binds: [] };
  const push = (sql: string, ...binds: SqlValue[]) => {
    out.where.push(sql);
    out.binds.push(...binds);
  };
  for (const c of parseFilter(filter)) {
    switch (c.field) {
      case 'name': {
        const cmp = stringCompare('m.name', c);
        push(cmp.sql, cmp.bind);
        break;
      }
      case 'run_id':
      case 'source_path': {
        const column = c.field === 'run_id' ? 'v.run_id' : 'v.source';
        if (c.op === 'IN' && c.field === 'run_id') {
          // One JSON parameter however long the list is (D1's bound-parameter limit).
          push(`${column} IN (SELECT value FROM json_each(?))`, JSON.stringify(c.value));
        } else if (c.op === '=' || c.op === '!=') {
          if (typeof c.value !== 'string') throw filterError(`'${c.field}' must be compared with a quoted string.`);
          push(`${column} ${c.op} ?`, c.value);
        } else {
          const ops = c.field === 'run_id' ? "'=', '!=' and IN" : "'=' and '!='";
          throw filterError(`operator '${c.op}' is not supported for '${c.field}'; use ${ops}.`);
        }
        break;
      }
      case 'version_number': {
        if (!NUMBER_OPS.includes(c.op)) {
          throw filterError(`operator '${c.op}' is not supported for 'version_number'; use one of ${NUMBER_OPS.join(', ')}.`);
        }
        let n: number | undefined;
        if (typeof c.value === 'number') n = c.value;
        else if (typeof c.value === 'string' && /^[0-9]{1,15}$/.test(c.value)) n = Number(c.value);
        if (n === undefined) throw filterError("'version_number' must be compared with an integer.");
        push(`v.version ${c.op} ?`, n);
        break;
      }
      case 'tag': {
        const t = tagCondition('version_tags', 't.model_id = v.model_id AND t.version = v.version', c);
        push(t.sql, ...t.binds);
        break;
      }
      default:
        throw filterError(
          `invalid attribute '${c.field}' for model versions; valid ones are 'name', 'run_id', 'source_path', ` +
            `'version_number' and 'tags.<key>'.`,
        );
    }
  }
  return out;
}
