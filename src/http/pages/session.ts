/**
 * @module session
 * Sign-in state of the pages. The cookie holds the caller's own regate token and nothing else, and every
 * request checks it with `authenticate()`, the function the API's bearer check uses: revocation, expiry,
 * deactivation and group changes apply to pages exactly as to the API, and there is no second session store.
 * The cookie is HttpOnly, SameSite=Strict, Path=/, and Secure (under the `__Host-` prefix) whenever the page
 * is served over HTTPS.
 *
 * Writes are CSRF-checked twice: a form token bound to the cookie (SHA-256 of a fixed label and the token, so
 * only a page rendered for this cookie carries it, and it reveals nothing about the token), and the request's
 * `Origin` (or `Sec-Fetch-Site`) must be this site.
 */
import type { Context } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import { base64url } from '../../core/crypto-ops.ts';
import { GatewayError } from '../../core/errors.ts';
import type { Principal } from '../../core/identity/principal.ts';
import { authenticate } from '../middleware/authenticate.ts';
import type { AppEnv } from '../env.ts';

type C = Context<AppEnv>;

const COOKIE_HTTP = 'regate_session';
/** Over HTTPS: the `__Host-` prefix makes browsers refuse the cookie unless Secure, Path=/ and host-only. */
const COOKIE_HTTPS = '__Host-regate_session';

export interface Session {
  principal: Principal;
  /** The regate token the cookie holds (sent on as the bearer of the page's API calls). */
  token: string;
  /** The form token every write must carry. */
  csrf: string;
}

/** HTTPS as the browser sees it: the request itself, or a configured public URL behind a TLS proxy. */
function isSecure(c: C): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  const pub = c.var.deps.config.publicUrl;
  return pub !== undefined && pub.startsWith('https:');
}

function cookieToken(c: C): string | undefined {
  return getCookie(c, COOKIE_HTTPS) ?? getCookie(c, COOKIE_HTTP);
}

/** @example await csrfFor('dapi…') // 43 base64url characters */
async function csrfFor(token: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`regate-ui-csrf\u0000${token}`));
  return base64url(new Uint8Array(digest));
}

/**
 * The principal behind `token`, through the API's own check, or null (with the API's reason) when it is
 * not a valid token. Other errors (the database) propagate.
 */
export async function principalFor(c: C, token: string): Promise<{ principal: Principal } | { error: string }> {
  try {
    return { principal: await authenticate(c.var.deps, `Bearer ${token}`) };
  } catch (err) {
    if (err instanceof GatewayError && err.code === 'UNAUTHENTICATED') return { error: err.message };
    throw err;
  }
}

/** The signed-in session of this request, or null. */
export async function currentSession(c: C): Promise<Session | null> {
  const token = cookieToken(c);
  if (token === undefined || token === '') return null;
  const r = await principalFor(c, token);
  if ('error' in r) return null;
  c.set('principal', r.principal);
  return { principal: r.principal, token, csrf: await csrfFor(token) };
}

export function startSession(c: C, token: string): void {
  const secure = isSecure(c);
  setCookie(c, secure ? COOKIE_HTTPS : COOKIE_HTTP, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'Strict',
    secure,
  });
}

export function endSession(c: C): void {
  // Both names: a cookie set over HTTP before TLS was put in front must go too.
  deleteCookie(c, COOKIE_HTTP, { path: '/', httpOnly: true, sameSite: 'Strict' });
  if (isSecure(c)) deleteCookie(c, COOKIE_HTTPS, { path: '/', httpOnly: true, sameSite: 'Strict', secure: true });
}

/** Whether the request comes from this site, by `Origin`, else `Sec-Fetch-Site`; neither sent: not a browser. */
export function sameOrigin(c: C): boolean {
  const origin = c.req.header('Origin');
  if (origin !== undefined) {
    if (origin === 'null') return false;
    const o = origin.toLowerCase();
    const { config } = c.var.deps;
    const allowed = [new URL(c.req.url).origin, config.publicUrl, ...config.publicOrigins]
      .filter((x): x is string => x !== undefined)
      .map((x) => x.replace(/\/+$/, '').toLowerCase());
    return allowed.includes(o);
  }
  const site = c.req.header('Sec-Fetch-Site');
  return site === undefined || site === 'same-origin';
}
