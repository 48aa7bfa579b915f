/**
 * @module registry-concurrency.test
 * What holds when requests overlap: version numbers stay distinct, a create race on one name yields one
 * model and RESOURCE_ALREADY_EXISTS (never a 500), and a transition whose version changed stage after it was
 * checked is aborted whole rather than applied under a check made for another stage.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from '../helpers/harness.ts';
import { MV, RM, registry } from '../helpers/registry.ts';
import type { SqlDb } from '../../src/core/ports.ts';
import { modelByName } from '../../src/core/registry/rows.ts';
import { applyTransition } from '../../src/core/registry/transition.ts';
import { loadPrincipal } from '../../src/core/identity/store.ts';
import { GatewayError } from '../../src/core/errors.ts';

let h: Harness;
let r: ReturnType<typeof registry>;
beforeEach(async () => {
  h = await makeHarness();
  r = registry(h);
});

describe('overlapping requests', () => {
  it('concurrent version creates get distinct consecutive numbers', async () => {
    await r.createModel('m');
    const results = await Promise.all(
      Array.from({ length: 20 }, () => h.call('POST', `${MV}/create`, { body: { name: 'm', source: 's3://b/model' } })),
    );
    expect(results.every((x) => x.status === 200)).toBe(true);
    const numbers = results.map((x) => Number(x.json.model_version.version)).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const storage = await h.db.prepare('SELECT COUNT(DISTINCT storage_id) AS n FROM model_versions').first<{ n: number }>();
    expect(storage!.n).toBe(20);
  });

  it('concurrent creates of one name make one model; the others get RESOURCE_ALREADY_EXISTS', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => h.call('POST', `${RM}/create`, { body: { name: 'same' } })));
    expect(results.filter((x) => x.status === 200)).toHaveLength(1);
    for (const x of results.filter((y) => y.status !== 200)) {
      expect(x.status).toBe(400);
      expect(x.json).toEqual({ error_code: 'RESOURCE_ALREADY_EXISTS', message: 'Registered Model (name=same) already exists.' });
    }
    expect(await r.count('registered_models')).toBe(1);
    expect(await r.count('grants WHERE object_id NOT IN (SELECT id FROM registered_models)')).toBe(0);
  });

  it('a transition whose version changed stage after the check is aborted and changes nothing', async () => {
    await r.createModel('m');
    await r.createVersion('m');
    await r.createVersion('m');
    await r.transition('m', '2', 'Staging');
    const model = (await modelByName(h.db, 'm'))!;
    const admin = (await loadPrincipal(h.db, (await h.db.prepare(`SELECT id FROM principals WHERE name = 'admin'`).first<{ id: string }>())!.id))!;
    // A database whose batch first lets "someone else" move version 1 to Production.
    const racing: SqlDb = {
      prepare: (sql) => h.db.prepare(sql),
      batch: async (statements) => {
        await h.db.prepare(`UPDATE model_versions SET stage = 'Production' WHERE version = 1`).run();
        return h.db.batch(statements);
      },
    };
    const before = await h.db.prepare('SELECT COUNT(*) AS n FROM activities').first<{ n: number }>();
    const err = await applyTransition({ ...h.deps, db: racing }, admin, model, 'CAN_MANAGE', 1, 'Staging', true, {
      activityType: 'APPLIED_TRANSITION',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('RESOURCE_CONFLICT');
    const stages = await h.db.prepare('SELECT version, stage FROM model_versions ORDER BY version').all();
    expect(stages).toEqual([{ version: 1, stage: 'Production' }, { version: 2, stage: 'Staging' }]);
    const after = await h.db.prepare('SELECT COUNT(*) AS n FROM activities').first<{ n: number }>();
    expect(after!.n).toBe(before!.n);
  });
});
