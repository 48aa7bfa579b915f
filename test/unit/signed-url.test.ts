import { afterEach, describe, expect, it, vi } from 'vitest';
import { UnsecuredJWT } from 'jose';
import { createMemoryKeyRing } from '../../src/adapters/memory/memory-key-ring.ts';
import { manualClock } from '../../src/core/clock.ts';
import { importStoredKey, type KeyRing, type StoredKey } from '../../src/core/artifacts/key-ring.ts';
import {
  CLOCK_TOLERANCE_SECONDS,
  DOWNLOAD_AUDIENCE,
  DOWNLOAD_TOKEN_TYPE,
  MAX_TTL_SECONDS,
  signDownloadToken,
  verifyDownloadToken,
  type DownloadGrant,
} from '../../src/core/artifacts/signed-url.ts';
import vectors from '../fixtures/signed-url-vectors.json' with { type: 'json' };
import { craftJws } from '../helpers/jws.ts';

const T = vectors.clock;
const KEY = vectors.key as StoredKey;
const OTHER = vectors.otherKey as StoredKey;
const GRANT = vectors.grant as DownloadGrant;
const TOL = CLOCK_TOLERANCE_SECONDS;

/** A key ring that counts lookups, to prove which tokens never reach one. */
function counting(ring: KeyRing) {
  const lookups: string[] = [];
  return {
    lookups,
    ring: { current: () => ring.current(), publicKey: (kid: string) => (lookups.push(kid), ring.publicKey(kid)) } satisfies KeyRing,
  };
}

async function setup() {
  const ring = await createMemoryKeyRing({ keys: [KEY] });
  const clock = manualClock(T);
  const priv = (await importStoredKey(KEY)).privateKey;
  const claims = { ...vectors.claims };
  const header = { alg: 'Ed25519', typ: DOWNLOAD_TOKEN_TYPE, kid: KEY.kid };
  const verify = (token: string, r: KeyRing = ring) => verifyDownloadToken(token, r, clock);
  return { ring, clock, priv, claims, header, verify };
}

afterEach(() => vi.restoreAllMocks());

describe('golden vectors (test/fixtures/signed-url-vectors.json)', () => {
  it('Ed25519 is deterministic: the fixture key and clock give the exact token', async () => {
    const { ring, clock } = await setup();
    const { token, claims } = await signDownloadToken(ring, clock, GRANT, { ttlSeconds: vectors.ttlSeconds, jti: vectors.jti });
    expect(token).toBe(vectors.token);
    expect(claims).toEqual(vectors.claims);
  });

  it.each(vectors.cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { ring } = await setup();
    const r = await verifyDownloadToken(c.token, ring, manualClock(c.now));
    expect(r.ok ? 'ok' : r.reason).toBe(c.expect);
    if (r.ok) expect(r.claims).toEqual(vectors.claims);
  });
});

describe('signing', () => {
  it('defaults to 300 s, allows up to 900 s, refuses more, and refuses bad grants', async () => {
    const { ring, clock } = await setup();
    const { claims } = await signDownloadToken(ring, clock, GRANT);
    expect(claims.exp - claims.iat).toBe(300);
    expect(claims).toMatchObject({ iss: DOWNLOAD_AUDIENCE, aud: DOWNLOAD_AUDIENCE, m: 'GET', nbf: claims.iat });
    expect(claims.jti).toMatch(/^[0-9a-f]{32}$/);
    expect((await signDownloadToken(ring, clock, GRANT, { ttlSeconds: MAX_TTL_SECONDS })).claims.exp - claims.iat).toBe(900);
    await expect(signDownloadToken(ring, clock, GRANT, { ttlSeconds: 901 })).rejects.toThrow(RangeError);
    await expect(signDownloadToken(ring, clock, GRANT, { ttlSeconds: 0 })).rejects.toThrow(RangeError);
    for (const bad of [{ p: '../x' }, { p: '/abs' }, { et: 'W/"x"' }, { et: 'unquoted' }, { sz: -1 }, { sz: 1.5 }, { mid: '' }, { sub: '' }]) {
      await expect(signDownloadToken(ring, clock, { ...GRANT, ...bad })).rejects.toThrow(TypeError);
    }
  });
});

describe('T1 alg:none and T2 algorithm confusion', () => {
  it('an unsigned token is refused before any key lookup', async () => {
    const { ring, claims, verify } = await setup();
    const c = counting(ring);
    const crafted = await craftJws({ alg: 'none', typ: DOWNLOAD_TOKEN_TYPE, kid: KEY.kid }, { ...claims }, 'none');
    const viaJose = new UnsecuredJWT({ ...claims }).encode();
    for (const t of [crafted, viaJose, `${crafted}AAAA`]) {
      const r = await verify(t, c.ring);
      expect(r.ok).toBe(false);
    }
    expect(c.lookups).toEqual([]);
  });

  it('HS256 signed with the public key (SPKI PEM bytes, JWK x, raw bytes) is refused', async () => {
    const { claims, verify } = await setup();
    const pub = (await importStoredKey(KEY)).publicKey;
    const spki = Buffer.from(await crypto.subtle.exportKey('spki', pub)).toString('base64');
    const pem = `-----BEGIN PUBLIC KEY-----\n${spki}\n-----END PUBLIC KEY-----\n`;
    const secrets = [new TextEncoder().encode(pem), new TextEncoder().encode(KEY.jwk.x!), Buffer.from(KEY.jwk.x!, 'base64url')];
    for (const hmacSecret of secrets) {
      for (const alg of ['HS256', 'Ed25519']) {
        const t = await craftJws({ alg, typ: DOWNLOAD_TOKEN_TYPE, kid: KEY.kid }, { ...claims }, { hmacSecret });
        const r = await verify(t);
        expect(r, alg).toEqual({ ok: false, reason: alg === 'HS256' ? 'bad_header' : 'bad_signature' });
      }
    }
  });
});

describe('T3 header key injection', () => {
  it('jwk, jku, x5u, x5c and crit headers and unknown kids are refused, with no fetch', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const { ring, claims, header, verify } = await setup();
    const attacker = await importStoredKey(OTHER);
    const c = counting(ring);
    const cases: Array<[Record<string, unknown>, CryptoKey, string]> = [
      [{ ...header, jwk: { kty: 'OKP', crv: 'Ed25519', x: OTHER.jwk.x } }, attacker.privateKey, 'bad_header'],
      [{ ...header, jku: 'http://attacker.test/jwks.json' }, attacker.privateKey, 'bad_header'],
      [{ ...header, x5u: 'http://attacker.test/cert.pem' }, attacker.privateKey, 'bad_header'],
      [{ ...header, x5c: ['MIIB'] }, attacker.privateKey, 'bad_header'],
      // Even signed with the real key, a crit extension is refused (RFC 7515 §4.1.11).
      [{ ...header, crit: ['x-unknown'], 'x-unknown': true }, (await importStoredKey(KEY)).privateKey, 'bad_header'],
      [{ ...header, crit: ['b64'], b64: true }, (await importStoredKey(KEY)).privateKey, 'bad_header'],
    ];
    for (const [h, key, reason] of cases) {
      expect(await verify(await craftJws(h, claims, key), c.ring), JSON.stringify(h)).toEqual({ ok: false, reason });
    }
    expect(c.lookups).toEqual([]);
    const unknownKid = await craftJws({ ...header, kid: OTHER.kid }, claims, attacker.privateKey);
    expect(await verify(unknownKid, c.ring)).toEqual({ ok: false, reason: 'unknown_key' });
    expect(c.lookups).toEqual([OTHER.kid]);
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

describe('T4 lifetime claims', () => {
  it('no exp, no iat, no nbf, no sub, no jti: each refused', async () => {
    const { claims, header, priv, verify } = await setup();
    for (const drop of ['exp', 'iat', 'nbf', 'sub', 'jti']) {
      const t = await craftJws(header, { ...claims, [drop]: undefined }, priv);
      expect(await verify(t), drop).toEqual({ ok: false, reason: 'bad_claims' });
    }
  });

  it('exp - iat above the maximum is refused even while otherwise valid', async () => {
    const { claims, header, priv, verify } = await setup();
    const ok = await craftJws(header, { ...claims, exp: claims.iat + 900 }, priv);
    expect((await verify(ok)).ok).toBe(true);
    const long = await craftJws(header, { ...claims, exp: claims.iat + 901 }, priv);
    expect(await verify(long)).toEqual({ ok: false, reason: 'lifetime_too_long' });
    const year = await craftJws(header, { ...claims, exp: claims.iat + 31_536_000 }, priv);
    expect(await verify(year)).toEqual({ ok: false, reason: 'lifetime_too_long' });
  });

  it('nbf more than the tolerance in the future is refused', async () => {
    const { claims, header, priv, verify } = await setup();
    const now = claims.iat;
    const t = await craftJws(header, { ...claims, nbf: now + TOL + 1, exp: now + 300 }, priv);
    expect(await verify(t)).toEqual({ ok: false, reason: 'not_yet_valid' });
  });

  it('exact exp boundaries against the injected clock: exp = now - tol → 401, exp = now - tol + 1 → ok', async () => {
    const { ring, priv, header, claims } = await setup();
    const now = claims.iat + 200;
    const clock = manualClock(now * 1000 + 999); // sub-second part must not matter
    const atEdge = await craftJws(header, { ...claims, exp: now - TOL }, priv);
    const inside = await craftJws(header, { ...claims, exp: now - TOL + 1 }, priv);
    expect(await verifyDownloadToken(atEdge, ring, clock)).toEqual({ ok: false, reason: 'expired' });
    expect((await verifyDownloadToken(inside, ring, clock)).ok).toBe(true);
  });
});

describe('T5(c) token-type confusion', () => {
  it('another aud, iss or typ is refused', async () => {
    const { claims, header, priv, verify } = await setup();
    const cases: Array<[Record<string, unknown>, Record<string, unknown>, string]> = [
      [header, { ...claims, aud: 'regate-api' }, 'bad_claims'],
      [header, { ...claims, aud: [DOWNLOAD_AUDIENCE, 'regate-api'] }, 'bad_claims'],
      [header, { ...claims, iss: 'https://idp.example' }, 'bad_claims'],
      [{ ...header, typ: 'at+jwt' }, claims, 'bad_header'],
      [{ ...header, typ: 'JWT' }, claims, 'bad_header'],
      [{ alg: 'Ed25519', kid: KEY.kid }, claims, 'bad_header'],
    ];
    for (const [h, p, reason] of cases) expect(await verify(await craftJws(h, p, priv))).toEqual({ ok: false, reason });
  });
});

describe('T28 key rotation and kid abuse', () => {
  it('the previous kid verifies until removed, then fails; new tokens use the new kid', async () => {
    const { ring, clock } = await setup();
    const old = await signDownloadToken(ring, clock, GRANT);
    const newKid = await ring.rotate();
    expect(ring.kids()).toEqual([newKid, KEY.kid]);
    const fresh = await signDownloadToken(ring, clock, GRANT);
    expect(JSON.parse(Buffer.from(fresh.token.split('.')[0]!, 'base64url').toString()).kid).toBe(newKid);
    expect((await verifyDownloadToken(old.token, ring, clock)).ok).toBe(true);
    expect((await verifyDownloadToken(fresh.token, ring, clock)).ok).toBe(true);
    await expect(ring.remove(newKid)).rejects.toThrow(/current/);
    await ring.remove(KEY.kid);
    expect(await verifyDownloadToken(old.token, ring, clock)).toEqual({ ok: false, reason: 'unknown_key' });
    expect((await verifyDownloadToken(fresh.token, ring, clock)).ok).toBe(true);
  });

  it('a second rotation drops the key two generations back', async () => {
    const { ring, clock } = await setup();
    const old = await signDownloadToken(ring, clock, GRANT);
    const k2 = await ring.rotate();
    const k3 = await ring.rotate();
    expect(ring.kids()).toEqual([k3, k2]);
    expect(await verifyDownloadToken(old.token, ring, clock)).toEqual({ ok: false, reason: 'unknown_key' });
  });

  it("kid '../../dev/null', SQL, 4 KB and '' are all refused the same way, without a key lookup", async () => {
    const { ring, claims, header, priv } = await setup();
    const c = counting(ring);
    for (const kid of ['../../dev/null', "' OR '1'='1", 'k'.repeat(4096), '', 'a'.repeat(65), 'kid with space', 7]) {
      const t = await craftJws({ ...header, kid }, claims, priv);
      expect(await verifyDownloadToken(t, c.ring, manualClock(T)), String(kid).slice(0, 20)).toEqual({ ok: false, reason: t.length > 4096 ? 'malformed' : 'bad_header' });
    }
    expect(c.lookups).toEqual([]);
  });
});

describe('T29 clock skew', () => {
  it('issuer ahead by tol-1 s is accepted, by tol+1 s refused', async () => {
    const { ring } = await setup();
    for (const [skew, ok] of [[TOL - 1, true], [TOL + 1, false]] as const) {
      const issuer = manualClock(T + skew * 1000);
      const { token } = await signDownloadToken(ring, issuer, GRANT);
      const r = await verifyDownloadToken(token, ring, manualClock(T));
      expect(r.ok, `issuer +${skew}s`).toBe(ok);
      if (!r.ok) expect(r.reason).toBe('not_yet_valid');
    }
  });

  it('verifier ahead of exp by tol-1 s is accepted, by tol+1 s refused', async () => {
    const { ring, clock } = await setup();
    const { token, claims } = await signDownloadToken(ring, clock, GRANT);
    for (const [skew, ok] of [[TOL - 1, true], [TOL + 1, false]] as const) {
      const r = await verifyDownloadToken(token, ring, manualClock((claims.exp + skew) * 1000));
      expect(r.ok, `verifier exp+${skew}s`).toBe(ok);
      if (!r.ok) expect(r.reason).toBe('expired');
    }
  });
});
