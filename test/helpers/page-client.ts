/**
 * @module page-client
 * Drives the pages in-process like a browser without JavaScript: signs in with a token, keeps the cookie,
 * reads the form token out of the page, and posts forms (urlencoded, with this site's Origin).
 */
import type { Harness } from './harness.ts';

export const ORIGIN = 'http://regate.test';

export interface PageResult {
  status: number;
  text: string;
  headers: Headers;
  location: string | null;
}

export function pageClient(h: Harness, origin = ORIGIN) {
  let cookie: string | null = null;

  async function send(method: string, path: string, o: { form?: Record<string, string | string[]>; headers?: Record<string, string>; cookie?: string | null } = {}): Promise<PageResult> {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    const jar = o.cookie === undefined ? cookie : o.cookie;
    if (jar) headers.Cookie = jar;
    let body: string | undefined;
    if (o.form) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(o.form)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
      body = p.toString();
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      if (headers.Origin === undefined) headers.Origin = origin;
    }
    const res = await h.app.request(`${origin}${path}`, { method, headers, body });
    return { status: res.status, text: await res.text(), headers: res.headers, location: res.headers.get('Location') };
  }

  async function signIn(token: string): Promise<PageResult> {
    const r = await send('POST', '/ui/sign-in', { form: { token, next: '/ui/models' } });
    const set = r.headers.get('Set-Cookie');
    if (r.status === 303 && set) cookie = set.split(';')[0]!;
    return r;
  }

  /** The form token of the session (read from a page, as a browser's form would carry it). */
  async function csrf(): Promise<string> {
    const r = await send('GET', '/ui/models');
    const m = /name="csrf" value="([^"]+)"/.exec(r.text);
    if (!m) throw new Error(`no form token on the page (${r.status})`);
    return m[1]!;
  }

  return { send, signIn, csrf, get cookie() { return cookie; }, set cookie(v: string | null) { cookie = v; } };
}
