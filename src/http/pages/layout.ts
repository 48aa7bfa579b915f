/**
 * @module layout
 * The document around every page: title, skip link, top bar (Models, who is signed in, Sign out), the
 * message area, and the response headers every page carries (no caching, no framing, a strict CSP).
 */
import { raw } from 'hono/html';
import type { Ctx } from '../env.ts';
import { h, type Child } from './h.ts';
import { CSS, SCRIPT, contentSecurityPolicy } from './style.ts';
import type { Session } from './session.ts';

export const UI = '/ui';

export interface PageOptions {
  title: string;
  session?: Session | null;
  status?: number;
  /** An error shown in words at the top (never a stack). */
  error?: string;
  notice?: string;
}

/** Renders a whole page. @example return render(c, { title: 'Models', session }, h('h1', null, 'Models')) */
export async function render(c: Ctx, o: PageOptions, ...body: Child[]): Promise<Response> {
  const s = o.session;
  const doc = h(
    'html',
    { lang: 'en' },
    h('head', null,
      h('meta', { charset: 'utf-8' }),
      h('meta', { name: 'viewport', content: 'width=device-width, initial-scale=1' }),
      h('title', null, `${o.title} · regate`),
      h('style', null, raw(CSS)),
    ),
    h('body', null,
      h('a', { class: 'skip', href: '#main' }, 'Skip to content'),
      h('header', { class: 'top' },
        h('span', { class: 'brand' }, 'regate'),
        s ? h('nav', { 'aria-label': 'Main' }, h('a', { href: `${UI}/models` }, 'Models')) : null,
        s
          ? h('span', { class: 'who' }, 'Signed in as ', h('strong', null, s.principal.displayName || s.principal.name), ' ',
              h('form', { class: 'inline', method: 'post', action: `${UI}/sign-out` },
                h('input', { type: 'hidden', name: 'csrf', value: s.csrf }),
                h('button', { type: 'submit' }, 'Sign out')))
          : null,
      ),
      h('main', { id: 'main' },
        o.error ? h('p', { class: 'error', role: 'alert' }, o.error) : null,
        o.notice ? h('p', { class: 'notice', role: 'status' }, o.notice) : null,
        ...body,
      ),
      h('script', null, raw(SCRIPT)),
    ),
  );
  const html = '<!doctype html>' + (await doc.toString());
  return new Response(html, { status: o.status ?? 200, headers: await pageHeaders() });
}

async function pageHeaders(): Promise<Headers> {
  return new Headers({
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Security-Policy': await contentSecurityPolicy(),
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
  });
}

/**
 * A 303 to another page (after a form post, so reloading does not repeat it). Made through the context so
 * a cookie set on it (sign-in, sign-out) goes out with it.
 */
export function redirect(c: Ctx, to: string): Response {
  c.header('Cache-Control', 'no-store');
  return c.redirect(to, 303);
}

/** A page URL with query parameters. @example pageUrl('/ui/model', { name: 'm' }) */
export function pageUrl(path: string, query: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}
