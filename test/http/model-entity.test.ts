/**
 * registered-models/get reads the whole entity in one statement (model-entity.ts); search renders the same
 * entity set-at-a-time (load.ts). Both must answer alike, byte for byte, for a model with tags, several
 * versions in every stage (the latest per stage), version tags, descriptions and odd characters.
 */
import { describe, expect, it } from 'vitest';
import { makeHarness } from '../helpers/harness.ts';
import { RM, MV, registry } from '../helpers/registry.ts';

describe('one-statement model entity', () => {
  it('get answers exactly what search answers for the same model', async () => {
    const h = await makeHarness();
    const r = registry(h);
    await r.createModel('ent "ü" 😀', undefined, { description: 'd\n"q"', tags: [{ key: 'z', value: '1' }, { key: 'a', value: 'ü' }] });
    await r.createModel('other');
    for (let i = 1; i <= 6; i++) await r.createVersion('ent "ü" 😀', `s3://bucket/m${i}`, i % 2 ? { description: `v${i}` } : {});
    await r.transition('ent "ü" 😀', '2', 'Staging');
    await r.transition('ent "ü" 😀', '3', 'Production');
    await r.transition('ent "ü" 😀', '4', 'Staging');
    await r.transition('ent "ü" 😀', '5', 'Archived');
    for (const [v, k] of [['4', 'b'], ['4', 'a'], ['6', 'x']] as const) {
      await h.expectOk('POST', `${MV}/set-tag`, { body: { name: 'ent "ü" 😀', version: v, key: k, value: `t${k}` } });
    }
    const got = await h.expectOk('GET', `${RM}/get`, { query: { name: 'ent "ü" 😀' } });
    const searched = await h.expectOk('GET', `${RM}/search`, { query: { filter: `name = 'ent "ü" 😀'` } });
    expect(searched.registered_models).toHaveLength(1);
    expect(JSON.stringify(got.registered_model)).toBe(JSON.stringify(searched.registered_models[0]));
    expect(got.registered_model.latest_versions.map((v: { version: string; current_stage: string }) => `${v.current_stage}:${v.version}`)).toEqual([
      'None:6',
      'Staging:4',
      'Production:3',
      'Archived:5',
    ]);
    const bare = await h.expectOk('GET', `${RM}/get`, { query: { name: 'other' } });
    const bareSearched = await h.expectOk('GET', `${RM}/search`, { query: { filter: `name = 'other'` } });
    expect(JSON.stringify(bare.registered_model)).toBe(JSON.stringify(bareSearched.registered_models[0]));
  });
});
