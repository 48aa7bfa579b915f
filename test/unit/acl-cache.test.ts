/**
 * The ACL cache over the real SQLite store, on a manual clock: TTLs (deny shorter than allow), epochs,
 * local invalidation, and its bound (T30).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { AclCache, type AclEntry } from '../../src/core/access/acl-cache.ts';
import { bumpGlobalEpoch, readEpochs } from '../../src/core/access/epoch.ts';
import { createLruCache } from '../../src/adapters/lru/lru-cache.ts';
import { loadPrincipal } from '../../src/core/identity/store.ts';
import type { Principal } from '../../src/core/identity/principal.ts';
import { makeHarness, type Harness } from '../helpers/harness.ts';

let h: Harness;
let acl: AclCache;
let p: Principal;
const model = { id: 'm1', acl_epoch: 0 };

async function grant(level: string | null): Promise<void> {
  await h.db.prepare('DELETE FROM grants WHERE object_id = ?').bind('m1').run();
  if (level) await h.db.prepare('INSERT INTO grants (object_id, principal_id, level) VALUES (?, ?, ?)').bind('m1', p.id, level).run();
}

beforeEach(async () => {
  h = await makeHarness();
  acl = new AclCache(createLruCache({ max: 1000, clock: h.clock }), { allowTtlMs: 60_000, denyTtlMs: 10_000 });
  const u = await h.user('u@x');
  p = (await loadPrincipal(h.db, u.id))!;
  await h.db.prepare("INSERT INTO registered_models (id, name, user_id, created_at, updated_at) VALUES ('m1', 'm', 'x', 0, 0)").run();
  model.acl_epoch = 0;
});

describe('AclCache', () => {
  it('reuses an allow for the allow TTL when nothing it depends on moved', async () => {
    await grant('CAN_READ');
    expect(await acl.level(h.db, p, model)).toBe('CAN_READ');
    await grant(null); // a change written behind the cache's back, without an epoch bump
    h.clock.advance(59_999);
    expect(await acl.level(h.db, p, model)).toBe('CAN_READ');
    h.clock.advance(1);
    expect(await acl.level(h.db, p, model)).toBe('NO_PERMISSIONS');
  });

  it('reuses a denial only for the shorter deny TTL', async () => {
    expect(await acl.level(h.db, p, model)).toBe('NO_PERMISSIONS');
    await grant('CAN_EDIT');
    h.clock.advance(9_999);
    expect(await acl.level(h.db, p, model)).toBe('NO_PERMISSIONS');
    h.clock.advance(1);
    expect(await acl.level(h.db, p, model)).toBe('CAN_EDIT');
  });

  it("recomputes at once when the model's epoch moved", async () => {
    await grant('CAN_MANAGE');
    expect(await acl.level(h.db, p, model)).toBe('CAN_MANAGE');
    await grant(null);
    expect(await acl.level(h.db, p, { ...model, acl_epoch: 1 })).toBe('NO_PERMISSIONS');
  });

  it('the next request sees a group change at once (it reads the moved global epoch)', async () => {
    await grant('CAN_READ');
    expect(await acl.level(h.db, p, model)).toBe('CAN_READ');
    await grant(null);
    await bumpGlobalEpoch(h.db).run();
    // The request that read the old epochs keeps its view; the next one reads the new epochs.
    expect(await acl.level(h.db, p, model)).toBe('CAN_READ');
    const next = { ...p, epochs: await readEpochs(h.db) };
    expect(next.epochs.global).toBe(p.epochs.global + 1);
    expect(await acl.level(h.db, next, model)).toBe('NO_PERMISSIONS');
  });

  it('drops entries on local invalidation', async () => {
    await grant('CAN_READ');
    await acl.level(h.db, p, model);
    await grant(null);
    acl.invalidateModel('m1');
    expect(await acl.level(h.db, p, model)).toBe('NO_PERMISSIONS');
    await grant('CAN_READ');
    acl.invalidateAll();
    expect(await acl.level(h.db, p, model)).toBe('CAN_READ');
  });

  it('stays within its bound under 100k distinct principal/model pairs', () => {
    const cache = createLruCache<{ level: 'CAN_READ'; modelEpoch: number; globalEpoch: number; dataEpoch: number }>({ max: 1000, clock: h.clock });
    for (let i = 0; i < 100_000; i++) cache.set(AclCache.key(`p${i}`, `m${i % 977}`), { level: 'CAN_READ', modelEpoch: 0, globalEpoch: 0, dataEpoch: 0 }, 60_000);
    expect(cache.size).toBe(1000);
  });

  it('validates its options eagerly', () => {
    const c = createLruCache<AclEntry>({ max: 10, clock: h.clock });
    expect(() => new AclCache(c, { allowTtlMs: 301_000 })).toThrow(RangeError);
    expect(() => new AclCache(c, { allowTtlMs: 10_000, denyTtlMs: 20_000 })).toThrow(RangeError);
  });
});
