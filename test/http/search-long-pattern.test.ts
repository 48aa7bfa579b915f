/**
 * @module search-long-pattern.test
 * registered-models/search with an ILIKE pattern longer than D1's 50-byte LIKE limit, on a connection that
 * enforces that limit: 200 with the matching models, not a 500.
 */
import { describe, expect, it } from 'vitest';
import { makeHarness } from '../helpers/harness.ts';
import { RM, registry } from '../helpers/registry.ts';
import { limitLikePatterns } from '../helpers/d1-like-limit.ts';

describe('registered-models/search with a long ILIKE pattern', () => {
  it('answers 200 with the right models under a 50-byte pattern limit', async () => {
    const h = await makeHarness();
    const r = registry(h);
    const long = 'fraud-detection-classifier-for-card-payments-europe-region';
    for (const n of [`${long}-v1`, `${long.toUpperCase()}-v2`, `${long}-x`, 'fraud-detection', `${long}-v1-old`]) await r.createModel(n);
    limitLikePatterns(h.db.db);
    const filter = `name ILIKE '${long}-v_'`;
    expect(filter.length - "name ILIKE ''".length).toBe(61);
    const res = await h.call('GET', `${RM}/search`, { query: { filter } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.registered_models.map((m: { name: string }) => m.name)).toEqual([`${long.toUpperCase()}-v2`, `${long}-v1`]);
  });
});
