import { chmod, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openFsKeyRing } from '../../src/adapters/fs/fs-key-ring.ts';
import { manualClock } from '../../src/core/clock.ts';
import { signDownloadToken, verifyDownloadToken } from '../../src/core/artifacts/signed-url.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function dataDir() {
  const d = await mkdtemp(join(tmpdir(), 'regate-keys-'));
  dirs.push(d);
  return d;
}
const GRANT = { sub: '1', mid: 'abc', ver: '1', p: 'model/MLmodel', et: '"e1"', sz: 10 };

describe('FsKeyRing', () => {
  it('generates one key on first start as a 0600 JWK file in a 0700 keys/ directory, and reloads it', async () => {
    const d = await dataDir();
    const clock = manualClock(Date.UTC(2026, 0, 1));
    const ring = await openFsKeyRing(d, { clock });
    const kid = ring.current().kid;
    expect(await readdir(join(d, 'keys'))).toEqual([`${kid}.json`]);
    expect((await stat(join(d, 'keys', `${kid}.json`))).mode & 0o777).toBe(0o600);
    expect((await stat(join(d, 'keys'))).mode & 0o777).toBe(0o700);
    const { token } = await signDownloadToken(ring, clock, GRANT);
    const again = await openFsKeyRing(d, { clock });
    expect(again.current().kid).toBe(kid);
    expect((await verifyDownloadToken(token, again, clock)).ok).toBe(true);
  });

  it('rotate writes a new current key, keeps the previous until removed, and persists both facts', async () => {
    const d = await dataDir();
    const clock = manualClock(Date.UTC(2026, 0, 1));
    const ring = await openFsKeyRing(d, { clock });
    const k1 = ring.current().kid;
    const old = await signDownloadToken(ring, clock, GRANT);
    clock.advance(1000);
    const k2 = await ring.rotate();
    expect((await readdir(join(d, 'keys'))).sort()).toEqual([`${k1}.json`, `${k2}.json`].sort());
    const reopened = await openFsKeyRing(d, { clock });
    expect(reopened.kids()).toEqual([k2, k1]);
    expect((await verifyDownloadToken(old.token, reopened, clock)).ok).toBe(true);
    await reopened.remove(k1);
    expect(await readdir(join(d, 'keys'))).toEqual([`${k2}.json`]);
    expect(await verifyDownloadToken(old.token, reopened, clock)).toEqual({ ok: false, reason: 'unknown_key' });
    clock.advance(1000);
    const k3 = await reopened.rotate();
    clock.advance(1000);
    const k4 = await reopened.rotate();
    expect((await readdir(join(d, 'keys'))).sort()).toEqual([`${k3}.json`, `${k4}.json`].sort());
  });

  it('refuses a key file that others can read', async () => {
    const d = await dataDir();
    const ring = await openFsKeyRing(d);
    await chmod(join(d, 'keys', `${ring.current().kid}.json`), 0o644);
    await expect(openFsKeyRing(d)).rejects.toThrow(/readable by others/);
  });
});
