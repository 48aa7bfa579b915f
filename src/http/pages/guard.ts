/**
 * @module guard
 * The wrappers every page route goes through (the route table marks pages `public` only because their
 * credential is the session cookie, not a bearer header; these wrappers are their authentication):
 * `page` needs a session (otherwise a 303 to the sign-in page), `action` (every POST) needs a session, a
 * same-site `Origin` and the form token bound to the cookie, and changes nothing otherwise. Errors become a
 * page that says what went wrong in words; refusals are recorded in the audit trail as the API records them.
 */
import { GatewayError, Refusal } from '../../core/errors.ts';
import { constantTimeEqual } from '../../core/ids.ts';
import { rawPath } from '../middleware/path-guard.ts';
import { readBodyLimited } from '../body-limit.ts';
import type { Ctx } from '../env.ts';
import { h } from './h.ts';
import { UI, pageUrl, redirect, render } from './layout.ts';
import { currentSession, sameOrigin, type Session } from './session.ts';

export type Form = Record<string, string | string[]>;

/** Largest form accepted: a description or comment (64 KiB of text, escaped) with room to spare. */
const FORM_MAX_BYTES = 1024 * 1024;

/** A form's field as one string ('' when absent; the first when repeated). */
export function field(form: Form, name: string): string {
  const v = form[name];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

/** Every value of a repeated field. */
export function fields(form: Form, name: string): string[] {
  const v = form[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/**
 * The posted form, or null when it is not a urlencoded form (the only kind the pages send), is not UTF-8, or is
 * over FORM_MAX_BYTES.
 * Repeated fields become arrays; files are dropped.
 */
export async function readForm(c: Ctx): Promise<Form | null> {
  const type = (c.req.header('Content-Type') ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return null;
  let text: string;
  try {
    // The limit every body reader keeps (body-limit.ts): nothing past it is buffered.
    text = new TextDecoder('utf-8', { fatal: true }).decode(await readBodyLimited(c.req.raw, FORM_MAX_BYTES, 'A form'));
  } catch {
    return null;
  }
  const out: Form = {};
  for (const [k, v] of new URLSearchParams(text)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

export function unreadableForm(c: Ctx, s: Session | null): Promise<Response> {
  return render(c, { title: 'Not understood', session: s, status: 400, error: 'This form could not be read (it must be an HTML form of at most 1 MiB), so nothing was changed.' }, backToModels());
}

/** Where to come back after signing in: only a page of ours, never another site. */
export function safeNext(next: string | undefined): string {
  return next !== undefined && next.startsWith(`${UI}/`) && !next.startsWith('//') && !/[\\\x00-\x1f]/.test(next) ? next : `${UI}/models`;
}

function audit(c: Ctx, s: Session | null, detail: string, status: number, modelId: string | null = null): void {
  c.var.deps.audit.record({ principalId: s?.principal.id ?? null, action: 'denied', modelId, path: null, status, detail });
}

async function failure(c: Ctx, s: Session | null, err: unknown): Promise<Response> {
  if (err instanceof GatewayError) {
    if (err instanceof Refusal) {
      const r = err.record;
      c.var.deps.audit.record({ principalId: s?.principal.id ?? null, action: r.action, modelId: r.modelId ?? null, path: r.path ?? null, status: err.status, detail: r.detail });
    } else if (err.code === 'PERMISSION_DENIED') {
      audit(c, s, `${c.req.method} ${rawPath(c.req.url)}: ${err.message}`, err.status);
    }
    return render(c, { title: 'Error', session: s, status: err.status, error: err.message }, backToModels());
  }
  c.var.deps.logger.error('page_error', { requestId: c.get('requestId'), error: String(err) });
  return render(c, { title: 'Error', session: s, status: 500, error: `Something went wrong on our side (request ${c.get('requestId')}).` }, backToModels());
}

function backToModels() {
  return h('p', null, h('a', { href: `${UI}/models` }, 'Back to Models'));
}

/** A page that needs a signed-in caller. */
export function page(fn: (c: Ctx, s: Session) => Promise<Response>) {
  return async (c: Ctx): Promise<Response> => {
    const s = await currentSession(c);
    if (!s) {
      const url = new URL(c.req.url);
      return redirect(c, pageUrl(`${UI}/sign-in`, { next: url.pathname + url.search }));
    }
    try {
      return await fn(c, s);
    } catch (err) {
      return await failure(c, s, err);
    }
  };
}

/** A form post: session, same-site origin and the form token, checked before anything else is read. */
export function action(fn: (c: Ctx, s: Session, form: Form) => Promise<Response>) {
  return async (c: Ctx): Promise<Response> => {
    const s = await currentSession(c);
    if (!s) {
      return render(c, { title: 'Signed out', status: 401, error: 'You are not signed in (or your token is no longer valid), so nothing was changed.' },
        h('p', null, h('a', { href: `${UI}/sign-in` }, 'Sign in')));
    }
    if (!sameOrigin(c)) {
      audit(c, s, `${c.req.method} ${rawPath(c.req.url)}: form posted from another site`, 403);
      return render(c, { title: 'Refused', session: s, status: 403, error: 'This form was sent from another site, so nothing was changed.' }, backToModels());
    }
    const clean = await readForm(c);
    if (!clean) return unreadableForm(c, s);
    if (!constantTimeEqual(field(clean, 'csrf'), s.csrf)) {
      audit(c, s, `${c.req.method} ${rawPath(c.req.url)}: missing or wrong form token`, 403);
      return render(c, { title: 'Refused', session: s, status: 403, error: 'This form is out of date or did not come from regate (its form token does not match your session), so nothing was changed. Reload the page and try again.' }, backToModels());
    }
    try {
      return await fn(c, s, clean);
    } catch (err) {
      return await failure(c, s, err);
    }
  };
}
