/**
 * @module registry-search.test
 * registered-models/search and /list, model-versions/search through HTTP: filters, ordering, paging with
 * next_page_token, filtering by the caller's permissions before a page is counted, and every refusal.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { makeHarness, T0, type Harness, type Identity } from '../helpers/harness.ts';
import { MV, RM, expectError, registry } from '../helpers/registry.ts';

let h: Harness;
let r: ReturnType<typeof registry>;
let alice: Identity;
beforeEach(async () => {
  h = await makeHarness();
  r = registry(h);
  alice = await h.user('alice@x');
});

describe('registered-models/search and /list', () => {
  async function seed() {
    const names = ['alpha', 'Beta', 'gamma', 'delta', 'epsilon'];
    for (const [i, n] of names.entries()) {
      h.clock.set(T0 + (names.length - i) * 1000);
      await r.createModel(n, undefined, { tags: [{ key: 'idx', value: String(i) }, ...(i % 2 === 0 ? [{ key: 'team name', value: 'even' }] : [])] });
    }
  }
  const namesOf = (res: { registered_models: Array<{ name: string }> }) => res.registered_models.map((m) => m.name);

  it('returns every model by name by default, with full entities', async () => {
    await seed();
    const res = await h.expectOk('GET', `${RM}/search`);
    expect(namesOf(res)).toEqual(['Beta', 'alpha', 'delta', 'epsilon', 'gamma']);
    expect(res.next_page_token).toBeUndefined();
    expect(res.registered_models[1]).toEqual({
      name: 'alpha',
      creation_timestamp: T0 + 5000,
      last_updated_timestamp: T0 + 5000,
      user_id: 'admin',
      latest_versions: [],
      tags: [{ key: 'idx', value: '0' }, { key: 'team name', value: 'even' }],
    });
  });

  it.each([
    ["name = 'gamma'", ['gamma']],
    ["name != 'gamma'", ['Beta', 'alpha', 'delta', 'epsilon']],
    ["name LIKE '%ta'", ['Beta', 'delta']],
    ["name LIKE 'b%'", []],
    ["name ILIKE 'b%'", ['Beta']],
    ["tags.idx = '3'", ['delta']],
    ["tags.`team name` = 'even' AND name LIKE '%a%'", ['alpha', 'gamma']],
    ['tags."team name" = "even"', ['alpha', 'epsilon', 'gamma']],
  ])('filters with %s', async (filter, expected) => {
    await seed();
    expect(namesOf(await h.expectOk('GET', `${RM}/search`, { query: { filter } }))).toEqual(expected);
  });

  it('orders by timestamp and name in either direction', async () => {
    await seed();
    const by = async (order_by: string[]) => namesOf(await h.expectOk('GET', `${RM}/search`, { query: { order_by } }));
    expect(await by(['timestamp DESC'])).toEqual(['alpha', 'Beta', 'gamma', 'delta', 'epsilon']);
    expect(await by(['last_updated_timestamp ASC'])).toEqual(['epsilon', 'delta', 'gamma', 'Beta', 'alpha']);
    expect(await by(['name DESC'])).toEqual(['gamma', 'epsilon', 'delta', 'alpha', 'Beta']);
  });

  it('pages across pages with next_page_token', async () => {
    await seed();
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const res = await h.expectOk('GET', `${RM}/search`, { query: { max_results: '2', page_token: token } });
      expect(res.registered_models.length).toBeLessThanOrEqual(2);
      seen.push(...namesOf(res));
      token = res.next_page_token;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toEqual(['Beta', 'alpha', 'delta', 'epsilon', 'gamma']);
  });

  it('list pages the same way', async () => {
    await seed();
    const p1 = await h.expectOk('GET', `${RM}/list`, { query: { max_results: '3' } });
    expect(namesOf(p1)).toEqual(['Beta', 'alpha', 'delta']);
    const p2 = await h.expectOk('GET', `${RM}/list`, { query: { max_results: '3', page_token: p1.next_page_token } });
    expect(namesOf(p2)).toEqual(['epsilon', 'gamma']);
    expect(p2.next_page_token).toBeUndefined();
  });

  it('shows a user only the models it may read, counting pages after filtering', async () => {
    await seed();
    await r.createModel('alices', alice.token);
    await r.grant('delta', 'alice@x', 'CAN_READ');
    const all = await h.expectOk('GET', `${RM}/search`, { token: alice.token });
    expect(namesOf(all)).toEqual(['alices', 'delta']);
    const p1 = await h.expectOk('GET', `${RM}/search`, { token: alice.token, query: { max_results: '1' } });
    expect(namesOf(p1)).toEqual(['alices']);
    expect(p1.next_page_token).toBeTruthy();
    const p2 = await h.expectOk('GET', `${RM}/search`, { token: alice.token, query: { max_results: '1', page_token: p1.next_page_token } });
    expect(namesOf(p2)).toEqual(['delta']);
    expect(p2.next_page_token).toBeUndefined();
    expect(namesOf(await h.expectOk('GET', `${RM}/list`, { token: alice.token }))).toEqual(['alices', 'delta']);
    const bob = await h.user('bob@x');
    expect(await h.expectOk('GET', `${RM}/search`, { token: bob.token, query: { filter: "name = 'delta'" } })).toEqual({ registered_models: [] });
  });

  it('a registry-wide (root) grant makes every model readable', async () => {
    await seed();
    await h.expectOk('PATCH', '/api/2.0/permissions/registered-models/root', {
      body: { access_control_list: [{ user_name: 'alice@x', permission_level: 'CAN_READ' }] },
    });
    expect(namesOf(await h.expectOk('GET', `${RM}/search`, { token: alice.token }))).toHaveLength(5);
  });

  it.each([
    [{ filter: "name = 'a' OR name = 'b'" }, /Invalid filter string/],
    [{ filter: "run_id = 'x'" }, /invalid attribute 'run_id'/],
    [{ order_by: 'size DESC' }, /Invalid order_by/],
    [{ order_by: ['name', 'name DESC'] }, /more than once/],
    [{ max_results: '1001' }, /at most 1000/],
    [{ max_results: '0' }, /at least 1/],
    [{ max_results: 'ten' }, /integer/],
    [{ page_token: 'not-a-token' }, /page_token/],
    [{ page_token: 'eyJvZmZzZXQiOi0xfQ' }, /page_token/],
  ])('refuses %j with INVALID_PARAMETER_VALUE', async (query, message) => {
    await seed();
    expectError(await h.call('GET', `${RM}/search`, { query: query as Record<string, string> }), 400, 'INVALID_PARAMETER_VALUE', message);
  });

  it('list refuses a bad page_token too', async () => {
    expectError(await h.call('GET', `${RM}/list`, { query: { page_token: '!!' } }), 400, 'INVALID_PARAMETER_VALUE');
  });
});

describe('model-versions/search', () => {
  async function seed() {
    await r.createModel('a');
    await r.createModel('b');
    for (const [name, run] of [['a', 'r1'], ['a', 'r2'], ['b', 'r1'], ['a', 'r3'], ['b', 'r4']] as const) {
      h.clock.advance(1000);
      await r.createVersion(name, `s3://bucket/${name}/${run}`, { run_id: run, tags: [{ key: 'run', value: run }] });
    }
  }
  const ids = (res: { model_versions: Array<{ name: string; version: string }> }) => res.model_versions.map((v) => `${v.name}/${v.version}`);

  it('defaults to last update time descending, then name, then version descending (MLflow)', async () => {
    await seed();
    const res = await h.expectOk('GET', `${MV}/search`);
    expect(ids(res)).toEqual(['b/2', 'a/3', 'b/1', 'a/2', 'a/1']);
    expect(res.model_versions[1]).toEqual({
      name: 'a',
      version: '3',
      creation_timestamp: T0 + 4000,
      last_updated_timestamp: T0 + 4000,
      user_id: 'admin',
      current_stage: 'None',
      source: 's3://bucket/a/r3',
      run_id: 'r3',
      status: 'READY',
      tags: [{ key: 'run', value: 'r3' }],
    });
  });

  it.each([
    ["name = 'b'", ['b/2', 'b/1']],
    ["run_id = 'r1'", ['b/1', 'a/1']],
    ["run_id IN ('r2', 'r4')", ['b/2', 'a/2']],
    ["source_path = 's3://bucket/a/r3'", ['a/3']],
    ["name = 'a' AND version_number >= 2", ['a/3', 'a/2']],
    ['version_number = 1', ['b/1', 'a/1']],
    ["tags.run = 'r4'", ['b/2']],
    ["name LIKE 'a' AND tags.run != 'r1'", ['a/3', 'a/2']],
  ])('filters with %s', async (filter, expected) => {
    await seed();
    expect(ids(await h.expectOk('GET', `${MV}/search`, { query: { filter } }))).toEqual(expected);
  });

  it('orders by creation time, version number and name', async () => {
    await seed();
    const by = async (order_by: string[]) => ids(await h.expectOk('GET', `${MV}/search`, { query: { order_by } }));
    expect(await by(['creation_timestamp DESC'])).toEqual(['b/2', 'a/3', 'b/1', 'a/2', 'a/1']);
    expect(await by(['version_number ASC', 'name DESC'])).toEqual(['b/1', 'a/1', 'b/2', 'a/2', 'a/3']);
    expect(await by(['name DESC'])).toEqual(['b/2', 'b/1', 'a/3', 'a/2', 'a/1']);
  });

  it('pages with next_page_token and filters by permission before counting', async () => {
    await seed();
    const p1 = await h.expectOk('GET', `${MV}/search`, { query: { max_results: '2' } });
    const p2 = await h.expectOk('GET', `${MV}/search`, { query: { max_results: '2', page_token: p1.next_page_token } });
    const p3 = await h.expectOk('GET', `${MV}/search`, { query: { max_results: '2', page_token: p2.next_page_token } });
    expect([ids(p1), ids(p2), ids(p3)]).toEqual([['b/2', 'a/3'], ['b/1', 'a/2'], ['a/1']]);
    expect(p3.next_page_token).toBeUndefined();

    await r.grant('b', 'alice@x', 'CAN_READ');
    const q1 = await h.expectOk('GET', `${MV}/search`, { token: alice.token, query: { max_results: '1' } });
    expect(ids(q1)).toEqual(['b/2']);
    const q2 = await h.expectOk('GET', `${MV}/search`, { token: alice.token, query: { max_results: '1', page_token: q1.next_page_token } });
    expect(ids(q2)).toEqual(['b/1']);
    expect(q2.next_page_token).toBeUndefined();
    expect(ids(await h.expectOk('GET', `${MV}/search`, { token: alice.token, query: { filter: "name = 'a'" } }))).toEqual([]);
  });

  it.each([
    [{ filter: "current_stage = 'None'" }, /invalid attribute/],
    [{ filter: "version_number = 'x'" }, /integer/],
    [{ order_by: 'timestamp' }, /Invalid order_by/],
    [{ max_results: '200001' }, /at most 200000/],
    [{ page_token: 'e30' }, /page_token/],
  ])('refuses %j with INVALID_PARAMETER_VALUE', async (query, message) => {
    expectError(await h.call('GET', `${MV}/search`, { query }), 400, 'INVALID_PARAMETER_VALUE', message);
  });
});
