/**
 * The download route through app.request(): the §1.4 case table on the memory and fs stores, token attacks
 * (T1–T5), URL and method binding (T6, T7) and leakage (T27). Upstream faults are in download-faults.test.ts.
 */
import { describe, expect, it, vi } from 'vitest';
import { SignJWT } from 'jose';
import { httpDate } from '../../src/core/artifacts/conditional.ts';
import { DOWNLOAD_PATH, downloadQuery } from '../../src/core/artifacts/download-url.ts';
import { CLOCK_TOLERANCE_SECONDS, DOWNLOAD_TOKEN_TYPE, type DownloadClaims } from '../../src/core/artifacts/signed-url.ts';
import { createMemoryKeyRing } from '../../src/adapters/memory/memory-key-ring.ts';
import { MID, type DownloadEnv } from '../helpers/download-env.ts';
import { expectPrivate, expectRefusedWithoutStorage, get, N, OBJ, P, useDownloadEnvs } from '../helpers/download-http.ts';
import { craftJws } from '../helpers/jws.ts';
import { equalBytes, pattern } from '../helpers/streams.ts';
import { RANGE_CASES } from '../helpers/range-cases.ts';

const { setup, bare } = useDownloadEnvs();

describe.each(['memory', 'fs'] as const)('§1.4 case table end to end (%s store)', (kind) => {

  it.each(RANGE_CASES)('row %s', async (_row, hdrs, status, cr, slice) => {
    const s = await setup(kind);
    const r = await get(s, s.url, hdrs(s.meta.lastModified, s.meta.etag));
    expect(r.status).toBe(status);
    expect(r.h.get('content-range')).toBe(cr);
    expectPrivate(r.h);
    expect(r.h.get('content-encoding')).toBeNull();
    if (slice) {
      const bytes = OBJ.slice(...slice);
      expect(equalBytes(r.body, bytes)).toBe(true);
      expect(r.h.get('content-length')).toBe(String(bytes.length));
      expect(r.h.get('etag')).toBe(s.meta.etag);
      expect(r.h.get('last-modified')).toBe(httpDate(s.meta.lastModified));
      expect(r.h.get('accept-ranges')).toBe('bytes');
      expect(r.h.get('content-type')).toBe('application/octet-stream');
      expect(s.store.stats.gets).toBe(1);
      if (status === 206) expect(s.store.stats.lastGet).toMatchObject({ ifMatch: s.meta.etag, range: { start: slice[0], end: slice[1] - 1 } });
      else expect(s.store.stats.lastGet?.range).toBeUndefined();
    } else {
      expect(s.store.stats.gets).toBe(0); // 304, 412 and 416 are decided without reading the object
    }
    if (status === 304) {
      expect(r.body.length).toBe(0);
      expect(r.h.get('etag')).toBe(s.meta.etag);
      expect(r.h.get('content-length')).toBeNull();
      expect(r.h.get('content-type')).toBeNull();
    }
    if (status === 416 || status === 412) expect(JSON.parse(new TextDecoder().decode(r.body)).error_code).toMatch(/RANGE_NOT_SATISFIABLE|PRECONDITION_FAILED/);
  });

  it('row 36: HEAD ignores Range and reads metadata only', async () => {
    const s = await setup(kind);
    const r = await get(s, s.url, { Range: 'bytes=0-4' }, 'HEAD');
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(0);
    expect(r.h.get('content-length')).toBe('1000');
    expect(r.h.get('content-range')).toBeNull();
    expect(r.h.get('last-modified')).toBe(httpDate(s.meta.lastModified));
    expect(s.store.stats).toMatchObject({ gets: 0, heads: 1 });
  });

  it('row 55: 250 MiB-style chunking on a smaller object gives exact parallel ranges (shape only)', async () => {
    const env = await bare({ store: kind });
    const big = pattern(3 * 1024 * 1024 + 17, 5);
    const meta = await env.addObject('model/weights.bin', big);
    const { url } = await env.mint('model/weights.bin', meta);
    const chunk = 1024 * 1024;
    const parts = await Promise.all(
      [0, 1, 2, 3].map(async (i) => {
        const end = Math.min((i + 1) * chunk, big.length) - 1;
        const r = await get(env, url, { Range: `bytes=${i * chunk}-${end}` });
        expect(r.status).toBe(206);
        expect(r.h.get('content-range')).toBe(`bytes ${i * chunk}-${end}/${big.length}`);
        return r.body;
      }),
    );
    const joined = new Uint8Array(big.length);
    parts.forEach((p, i) => joined.set(p, i * chunk));
    expect(equalBytes(joined, big)).toBe(true);
  });
});

describe('empty objects and changed objects', () => {
  it('P6: an empty object is 200 with Content-Length 0, Range or not', async () => {
    const env = await bare();
    const meta = await env.addObject('model/empty', new Uint8Array(0));
    const { url } = await env.mint('model/empty', meta);
    for (const h of [{}, { Range: 'bytes=0-0' }, { Range: 'bytes=-1' }] as Array<Record<string, string>>) {
      const r = await get(env, url, h);
      expect(r.status).toBe(200);
      expect(r.h.get('content-length')).toBe('0');
      expect(r.body.length).toBe(0);
    }
  });

  it('T14: an object replaced after minting answers 412 (If-Match on the storage read), never the new bytes', async () => {
    const s = await setup();
    await s.addObject(P, pattern(N, 99));
    const r = await get(s, s.url, { Range: 'bytes=0-4' });
    expect(r.status).toBe(412);
    expect(s.store.stats.lastGet?.ifMatch).toBe(s.meta.etag);
    const head = await get(s, s.url, {}, 'HEAD');
    expect(head.status).toBe(412);
  });

  it('a resolver that refuses (access revoked) answers with its error and this route\'s private headers', async () => {
    const s = await setup();
    const { createApp } = await import('../../src/http/app.ts');
    const { GatewayError } = await import('../../src/core/errors.ts');
    const app = createApp({
      ...s.h.deps,
      objectStore: s.store,
      keyRing: s.keyRing,
      artifactKey: async () => {
        throw new GatewayError('PERMISSION_DENIED', 'No longer allowed.');
      },
    });
    const res = await app.request(s.url);
    expect(res.status).toBe(403);
    expectPrivate(res.headers);
    expect(s.store.calls).toBe(0);
  });

  it('an artifact whose key mapping is gone is 404 without storage I/O', async () => {
    const s = await setup();
    const { url } = await s.mint('model/other', s.meta);
    expectRefusedWithoutStorage(s, await get(s, url), 404);
  });
});

describe('T1–T5 tokens', () => {
  const expect401 = (e: DownloadEnv, r: { status: number; h: Headers; body: Uint8Array }) => {
    expectRefusedWithoutStorage(e, r, 401);
    expect(r.h.get('www-authenticate')).toContain('error="invalid_token"');
    expectPrivate(r.h);
  };
  const withToken = (claims: DownloadClaims, token: string) => `${DOWNLOAD_PATH}?${downloadQuery(claims, token)}`;

  it('T1: alg none', async () => {
    const s = await setup();
    const none = await craftJws({ alg: 'none', typ: DOWNLOAD_TOKEN_TYPE, kid: s.keyRing.current().kid }, { ...s.claims }, 'none');
    expect401(s, await get(s, withToken(s.claims, none)));
    expect401(s, await get(s, `${DOWNLOAD_PATH}?mid=${MID}&ver=1&p=model/MLmodel`));
  });

  it('T2: HS256 keyed with the public key', async () => {
    const s = await setup();
    const kid = s.keyRing.current().kid;
    const pub = s.keyRing.publicKey(kid)!;
    const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pub));
    const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pub));
    for (const hmacSecret of [spki, raw]) {
      const t = await craftJws({ alg: 'HS256', typ: DOWNLOAD_TOKEN_TYPE, kid }, { ...s.claims }, { hmacSecret });
      expect401(s, await get(s, withToken(s.claims, t)));
    }
  });

  it('T3: jwk / jku / x5u / crit headers and unknown kid, with no fetch', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const s = await setup();
    const attacker = await createMemoryKeyRing();
    const ak = attacker.current();
    const base = { alg: 'Ed25519', typ: DOWNLOAD_TOKEN_TYPE };
    const pubJwk = await crypto.subtle.exportKey('jwk', attacker.publicKey(ak.kid)!);
    for (const header of [
      { ...base, kid: s.keyRing.current().kid, jwk: pubJwk },
      { ...base, kid: s.keyRing.current().kid, jku: 'http://attacker.test/jwks' },
      { ...base, kid: s.keyRing.current().kid, x5u: 'http://attacker.test/x5u' },
      { ...base, kid: s.keyRing.current().kid, crit: ['x-unknown'], 'x-unknown': 1 },
      { ...base, kid: ak.kid },
    ]) {
      expect401(s, await get(s, withToken(s.claims, await craftJws(header, { ...s.claims }, ak.privateKey))));
    }
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('T4: no exp, over-long lifetime, future nbf, and the exact exp boundary with the clock', async () => {
    const s = await setup();
    const { privateKey, kid } = s.keyRing.current();
    const header = { alg: 'Ed25519', typ: DOWNLOAD_TOKEN_TYPE, kid };
    const c = { ...s.claims };
    expect401(s, await get(s, withToken(s.claims, await craftJws(header, { ...c, exp: undefined }, privateKey))));
    expect401(s, await get(s, withToken(s.claims, await craftJws(header, { ...c, exp: c.iat + 901 }, privateKey))));
    expect401(s, await get(s, withToken(s.claims, await craftJws(header, { ...c, nbf: c.iat + CLOCK_TOLERANCE_SECONDS + 1 }, privateKey))));
    s.h.clock.set((s.claims.exp + CLOCK_TOLERANCE_SECONDS) * 1000); // exp = now - tol
    expect401(s, await get(s, s.url));
    s.h.clock.set((s.claims.exp + CLOCK_TOLERANCE_SECONDS - 1) * 1000); // exp = now - tol + 1
    expect((await get(s, s.url)).status).toBe(200);
  });

  it('T5: access tokens are not download tokens, and download tokens are not bearer tokens', async () => {
    const s = await setup();
    // (a) the admin's API token, and an IdP-style at+jwt, as the download token
    expect401(s, await get(s, withToken(s.claims, s.h.adminToken)));
    const idp = await new SignJWT({ sub: '4242', scope: 'all' })
      .setProtectedHeader({ alg: 'Ed25519', typ: 'at+jwt', kid: s.keyRing.current().kid })
      .setIssuedAt(s.claims.iat)
      .setExpirationTime(s.claims.exp)
      .sign(s.keyRing.current().privateKey);
    expect401(s, await get(s, withToken(s.claims, idp)));
    // (b) a download token as Authorization: Bearer on a control-plane route
    const me = await s.h.call('GET', '/api/2.0/preview/scim/v2/Me', { token: s.token });
    expect(me.status).toBe(401);
    // (c) another aud or typ
    const { privateKey, kid } = s.keyRing.current();
    expect401(s, await get(s, withToken(s.claims, await craftJws({ alg: 'Ed25519', typ: DOWNLOAD_TOKEN_TYPE, kid }, { ...s.claims, aud: 'regate-api' }, privateKey))));
    expect401(s, await get(s, withToken(s.claims, await craftJws({ alg: 'Ed25519', typ: 'JWT', kid }, { ...s.claims }, privateKey))));
    // (d) other schemes on a control-plane route
    for (const scheme of ['Basic', 'Token']) {
      const r = await s.h.call('GET', '/api/2.0/preview/scim/v2/Me', { token: null, headers: { Authorization: `${scheme} ${s.h.adminToken}` } });
      expect(r.status).toBe(401);
    }
  });
});

describe('T6 path binding and T7 method binding', () => {
  it('T6: only the exact canonical query streams; every variant is refused with no storage call', async () => {
    const s = await setup();
    const q = (mid: string, ver: string, p: string, extra = '') => `${DOWNLOAD_PATH}?mid=${mid}&ver=${ver}&p=${p}${extra}&t=${s.token}`;
    const variants = [
      q(MID, '1', 'model/model.pkl'),
      q(MID, '2', 'model/MLmodel'),
      q('0123456789abcdef0123456789abcde2', '1', 'model/MLmodel'),
      q(MID, '1', 'model/../x'),
      q(MID, '1', '%2e%2e/MLmodel'),
      q(MID, '1', 'model%2FMLmodel'),
      q(MID, '1', 'model//MLmodel'),
      q(MID, '1', 'model/./MLmodel'),
      q(MID, '1', 'model/MLmodel%00'),
      q(MID, '1', 'model/MLmodel', '&x=1'),
      `${DOWNLOAD_PATH}?p=model/MLmodel&mid=${MID}&ver=1&t=${s.token}`,
      `${DOWNLOAD_PATH}?t=${s.token}`,
    ];
    for (const url of variants) {
      const r = await get(s, url);
      expect(r.status, url).toBe(403);
      expect(JSON.parse(new TextDecoder().decode(r.body)).error_code).toBe('PERMISSION_DENIED');
    }
    expect(s.store.calls).toBe(0);
    // A duplicated token parameter is not a token at all.
    expectRefusedWithoutStorage(s, await get(s, `${s.url}&t=${s.token}`), 401);
    // Path variants never reach the handler.
    for (const path of [`${DOWNLOAD_PATH}/`, `${DOWNLOAD_PATH}/x`, DOWNLOAD_PATH.toUpperCase(), `/${DOWNLOAD_PATH}`]) {
      const r = await get(s, `${path}?${s.url.split('?')[1]}`);
      expect([400, 401, 404], path).toContain(r.status);
    }
    expect(s.store.calls).toBe(0);
    expect((await get(s, s.url)).status).toBe(200);
  });

  it('T6: a path with spaces and unicode has one canonical spelling', async () => {
    const env = await bare();
    const p = 'model/data/weights ü (1).bin';
    const meta = await env.addObject(p, pattern(100));
    const { url } = await env.mint(p, meta);
    expect(url).toContain('p=model/data/weights%20%C3%BC%20%281%29.bin&');
    expect((await get(env, url)).status).toBe(200);
    expect((await get(env, url.replace('%281%29', '(1)'))).status).toBe(403);
    expect((await get(env, url.replace('%C3%BC', '%c3%bc'))).status).toBe(403);
  });

  it('T7: PUT, POST, DELETE and PATCH are 405 with Allow, without touching storage', async () => {
    const s = await setup();
    for (const method of ['PUT', 'POST', 'DELETE', 'PATCH']) {
      const r = await get(s, s.url, {}, method);
      expectRefusedWithoutStorage(s, r, 405);
      expect(r.h.get('allow')).toBe('GET, HEAD');
    }
  });
});

describe('T27 leakage', () => {
  it('the token appears in no log line and no error body; every answer is private and no-referrer', async () => {
    const s = await setup();
    const answers = [
      await get(s, s.url),
      await get(s, s.url, { Range: 'bytes=0-9' }),
      await get(s, s.url, { Range: 'bytes=5000-' }),
      await get(s, s.url.replace('p=model/MLmodel', 'p=model/x')),
      await get(s, s.url, {}, 'DELETE'),
    ];
    s.store.faults = { failBeforeFirstByte: 'internal' };
    answers.push(await get(s, s.url));
    s.h.clock.advance(3600_000);
    answers.push(await get(s, s.url));
    for (const a of answers) {
      expectPrivate(a.h);
      expect(new TextDecoder().decode(a.body)).not.toContain(s.token);
    }
    expect(answers.map((a) => a.status)).toEqual([200, 206, 416, 403, 405, 502, 401]);
    const logs = JSON.stringify(s.logLines);
    expect(s.logLines.length).toBeGreaterThanOrEqual(4);
    expect(logs).not.toContain(s.token);
    expect(logs).not.toContain(s.token.split('.')[2]);
    expect(s.logLines.find((l) => l.event === 'artifact_download_refused')?.fields).toMatchObject({
      jti: s.claims.jti,
      principal: '4242',
      modelId: MID,
      version: '1',
      path: P,
    });
    await s.h.deps.audit.flush();
    const audit = JSON.stringify(await s.h.db.prepare("SELECT * FROM audit WHERE action = 'download'").all());
    expect(audit).toContain(`jti=${s.claims.jti}`);
    expect(audit).not.toContain(s.token.split('.')[2]);
  });

});
