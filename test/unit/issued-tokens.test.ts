/**
 * Reuse of freshly minted download tokens: the same principal asking again for the same object within the
 * first third of the token's life gets the same token; anything else (another principal, object, ETag, key,
 * or a token past that window) gets a new one, so every URI handed out keeps at least 2/3 of its lifetime.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/clock.ts';
import { createLruCache } from '../../src/adapters/lru/lru-cache.ts';
import { createMemoryKeyRing } from '../../src/adapters/memory/memory-key-ring.ts';
import { issueDownloadToken, type IssuedToken } from '../../src/core/artifacts/issued-tokens.ts';
import type { Cache } from '../../src/core/cache.ts';

const GRANT = { sub: '11', mid: 'm1', ver: '1', p: 'model/MLmodel', et: '"e1"', sz: 10 };
let clock: ReturnType<typeof manualClock>;
let cache: Cache<IssuedToken>;

beforeEach(() => {
  clock = manualClock(Date.UTC(2026, 10, 30, 12));
  cache = createLruCache<IssuedToken>({ max: 100, clock });
});

describe('issueDownloadToken', () => {
  it('hands the same token to the same principal for the same object during the first third of its life', async () => {
    const ring = await createMemoryKeyRing({ clock });
    const a = await issueDownloadToken(cache, ring, clock, GRANT, { ttlSeconds: 300 });
    clock.advance(99_000);
    const b = await issueDownloadToken(cache, ring, clock, GRANT, { ttlSeconds: 300 });
    expect(b.token).toBe(a.token);
    expect(b.claims.exp - clock.now() / 1000).toBeGreaterThanOrEqual(200);
    clock.advance(1_000);
    const c = await issueDownloadToken(cache, ring, clock, GRANT, { ttlSeconds: 300 });
    expect(c.token).not.toBe(a.token);
    expect(c.claims.exp - clock.now() / 1000).toBe(300);
  });

  it('never shares a token across principals, objects, versions of the bytes or signing keys', async () => {
    const ring = await createMemoryKeyRing({ clock });
    const a = await issueDownloadToken(cache, ring, clock, GRANT);
    for (const other of [{ sub: '12' }, { p: 'model/other' }, { et: '"e2"' }, { sz: 11 }, { ver: '2' }, { mid: 'm2' }]) {
      const t = await issueDownloadToken(cache, ring, clock, { ...GRANT, ...other });
      expect(t.token).not.toBe(a.token);
      expect(t.claims).toMatchObject(other);
    }
    await ring.rotate();
    const rotated = await issueDownloadToken(cache, ring, clock, GRANT);
    expect(rotated.token).not.toBe(a.token);
  });
});
