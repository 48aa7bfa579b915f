import { describe, expect, it } from 'vitest';
import { parseFilter, tokenize, MAX_CLAUSES } from '../../src/core/registry/search-filter.ts';
import { compileModelFilter, compileVersionFilter, likeToGlob } from '../../src/core/registry/filter-sql.ts';
import { GatewayError } from '../../src/core/errors.ts';

function invalidMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    expect((e as GatewayError).code).toBe('INVALID_PARAMETER_VALUE');
    return (e as GatewayError).message;
  }
  throw new Error('expected INVALID_PARAMETER_VALUE');
}

describe('tokenize', () => {
  it('reads identifiers, operators, strings, numbers and keywords', () => {
    expect(tokenize("name != 'a' and version_number >= 3").map((t) => [t.t, t.v])).toEqual([
      ['ident', 'name'],
      ['op', '!='],
      ['string', 'a'],
      ['kw', 'AND'],
      ['ident', 'version_number'],
      ['op', '>='],
      ['number', 3],
    ]);
  });
  it('treats <> as != and keeps a doubled quote as one quote', () => {
    expect(tokenize("name <> 'it''s'").map((t) => t.v)).toEqual(['name', '!=', "it's"]);
  });
  it('refuses stray characters and unterminated strings', () => {
    expect(invalidMessage(() => tokenize("name = 'abc"))).toMatch(/unterminated quote/);
    expect(invalidMessage(() => tokenize('name ; drop'))).toMatch(/unexpected character ';'/);
    expect(invalidMessage(() => tokenize('version_number = 1.5'))).toMatch(/integer/);
  });
});

describe('parseFilter', () => {
  it('gives no clauses for an absent or blank filter', () => {
    expect(parseFilter(undefined)).toEqual([]);
    expect(parseFilter('   ')).toEqual([]);
  });
  it('parses every supported clause shape', () => {
    expect(
      parseFilter(
        `name = 'm' AND name ILIKE "%x%" AND tags.team = 'ml' AND tags.\`my key\` != "v" AND run_id IN ('a', "b") AND version_number < 4`,
      ),
    ).toEqual([
      { field: 'name', op: '=', value: 'm' },
      { field: 'name', op: 'ILIKE', value: '%x%' },
      { field: 'tag', key: 'team', op: '=', value: 'ml' },
      { field: 'tag', key: 'my key', op: '!=', value: 'v' },
      { field: 'run_id', op: 'IN', value: ['a', 'b'] },
      { field: 'version_number', op: '<', value: 4 },
    ]);
  });
  it('keeps a backticked key that holds dots as one key, and accepts tags."quoted"', () => {
    expect(parseFilter('tags.`a.b` = \'1\' AND tags."c d" = \'2\'')).toEqual([
      { field: 'tag', key: 'a.b', op: '=', value: '1' },
      { field: 'tag', key: 'c d', op: '=', value: '2' },
    ]);
  });
  it('matches keywords case-insensitively', () => {
    expect(parseFilter("name like 'a%' and name ilike 'B%'")).toEqual([
      { field: 'name', op: 'LIKE', value: 'a%' },
      { field: 'name', op: 'ILIKE', value: 'B%' },
    ]);
  });
  it.each([
    ["name = 'a' OR name = 'b'", /expected AND/],
    ["name = 'a' AND", /dangling AND/],
    ['name =', /expected a quoted string or a number/],
    ["= 'a'", /expected a field name/],
    ["name 'a'", /expected an operator/],
    ["run_id IN 'a'", /expected '\('/],
    ["run_id IN ('a' 'b')", /expected ',' or '\)'/],
    ["run_id IN ('a', 3)", /quoted strings/],
    ["tags. = 'a'", /identifier/],
    ["name.x = 'a'", /invalid identifier/],
    ["(name = 'a')", /expected a field name/],
  ])('refuses %s', (filter, message) => {
    expect(invalidMessage(() => parseFilter(filter))).toMatch(message);
  });
  it(`refuses more than ${MAX_CLAUSES} clauses`, () => {
    const many = Array.from({ length: MAX_CLAUSES + 1 }, (_, i) => `name != '${i}'`).join(' AND ');
    expect(invalidMessage(() => parseFilter(many))).toMatch(/more than 40 conditions/);
    expect(parseFilter(many.split(' AND ').slice(0, MAX_CLAUSES).join(' AND '))).toHaveLength(MAX_CLAUSES);
  });
});

describe('likeToGlob', () => {
  it('maps the LIKE wildcards and escapes GLOB metacharacters', () => {
    expect(likeToGlob('a%b_c*d?e[f')).toBe('a*b?c[*]d[?]e[[]f');
  });
});

describe('compileModelFilter', () => {
  it('binds every value and never splices it into SQL', () => {
    const c = compileModelFilter("name LIKE 'fr%' AND tags.team = 'x''; DROP TABLE grants; --'");
    expect(c.where).toEqual([
      'm.name GLOB ?',
      'EXISTS (SELECT 1 FROM model_tags t WHERE t.model_id = m.id AND t.key = ? AND t.value = ?)',
    ]);
    expect(c.binds).toEqual(['fr*', 'team', "x'; DROP TABLE grants; --"]);
    expect(c.where.join(' ')).not.toContain('DROP');
  });
  it('compiles ILIKE to SQLite LIKE', () => {
    expect(compileModelFilter("name ILIKE '%Fraud%'")).toEqual({ where: ['m.name LIKE ?'], binds: ['%Fraud%'] });
  });
  it.each([
    ["run_id = 'a'", /invalid attribute 'run_id' for registered models/],
    ["name IN ('a')", /operator 'IN' is not supported for 'name'/],
    ['name > 3', /operator '>' is not supported/],
    ['name = 3', /quoted string/],
    ["version_number = 1", /invalid attribute 'version_number'/],
  ])('refuses %s', (filter, message) => {
    expect(invalidMessage(() => compileModelFilter(filter))).toMatch(message);
  });
});

describe('compileVersionFilter', () => {
  it('compiles names, run ids, sources, version numbers and tags', () => {
    const c = compileVersionFilter(
      "name = 'm' AND run_id IN ('r1', 'r2') AND source_path = 's3://b/k' AND version_number >= 2 AND tags.t LIKE 'v_'",
    );
    expect(c.where).toEqual([
      'm.name = ?',
      'v.run_id IN (SELECT value FROM json_each(?))',
      'v.source = ?',
      'v.version >= ?',
      'EXISTS (SELECT 1 FROM version_tags t WHERE t.model_id = v.model_id AND t.version = v.version AND t.key = ? AND t.value GLOB ?)',
    ]);
    expect(c.binds).toEqual(['m', '["r1","r2"]', 's3://b/k', 2, 't', 'v?']);
  });
  it("accepts version_number compared with a quoted integer", () => {
    expect(compileVersionFilter("version_number = '7'").binds).toEqual([7]);
  });
  it.each([
    ["run_id LIKE 'a%'", /operator 'LIKE' is not supported for 'run_id'/],
    ["source_path IN ('a')", /operator 'IN' is not supported for 'source_path'/],
    ["version_number = 'x'", /integer/],
    ["version_number LIKE '1'", /not supported for 'version_number'/],
    ["current_stage = 'Production'", /invalid attribute 'current_stage' for model versions/],
  ])('refuses %s', (filter, message) => {
    expect(invalidMessage(() => compileVersionFilter(filter))).toMatch(message);
  });
});

describe('LIKE patterns over D1\'s 50-byte limit', () => {
  const stringBinds = (c: { binds: unknown[] }) => c.binds.filter((b): b is string => typeof b === 'string');
  it('keeps a pattern of up to 50 bytes as one LIKE / GLOB', () => {
    const fifty = 'a'.repeat(49) + '%';
    expect(compileModelFilter(`name ILIKE '${fifty}'`)).toEqual({ where: ['m.name LIKE ?'], binds: [fifty] });
  });
  it('splits a 61-character ILIKE into pieces of at most 50 bytes in one JSON bind', () => {
    const c = compileModelFilter(`name ILIKE '${'fraud-detection-'.repeat(3)}classifier-v_%'`);
    expect(c.where).toHaveLength(1);
    expect(c.where[0]).toMatch(/^EXISTS \(WITH lp\(j\) AS \(SELECT \?\)/);
    expect(c.where[0]).not.toContain('fraud');
    const pieces = JSON.parse(stringBinds(c)[0]!) as string[];
    expect(pieces.join('')).toBe(`${'fraud-detection-'.repeat(3)}classifier-v_`);
    for (const p of pieces) expect(new TextEncoder().encode(p).length).toBeLessThanOrEqual(50);
  });
  it('counts GLOB escapes and multi-byte characters in the 50 bytes', () => {
    // 20 characters of LIKE pattern, 60 bytes once '*' is escaped as '[*]' for GLOB.
    const glob = compileModelFilter(`name LIKE '${'*'.repeat(20)}'`);
    expect(glob.where[0]).toMatch(/^EXISTS/);
    const pieces = JSON.parse(stringBinds(glob)[0]!) as string[];
    expect(pieces).toEqual(['[*]'.repeat(16), '[*]'.repeat(4)]);
    // 13 four-byte characters: 52 bytes.
    const emoji = compileVersionFilter(`tags.t ILIKE '${'😀'.repeat(13)}'`);
    expect(emoji.where[0]).toContain('t.value');
    expect(JSON.parse(stringBinds(emoji)[1]!)).toEqual(['😀'.repeat(12), '😀']);
  });
});
