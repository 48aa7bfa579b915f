/**
 * @module sign-in
 * Signing in with a regate token (the one the API takes as a bearer) and signing out. The token is checked
 * with the API's own `authenticate()` before the cookie is set; a sign-in form posted from another site is
 * refused (login CSRF).
 */
import type { Ctx } from '../env.ts';
import { h } from './h.ts';
import { UI, redirect, render } from './layout.ts';
import { action, field, readForm, safeNext, unreadableForm } from './guard.ts';
import { currentSession, endSession, principalFor, sameOrigin, startSession } from './session.ts';

function signInForm(next: string) {
  return h('form', { method: 'post', action: `${UI}/sign-in`, class: 'dialog' },
    h('h1', null, 'Sign in to regate'),
    h('p', { class: 'muted' }, 'Use a regate access token (the same token the MLflow client or the Databricks SDK uses). It is kept in an HttpOnly cookie for this site only.'),
    h('input', { type: 'hidden', name: 'next', value: next }),
    h('div', { class: 'row' },
      h('div', null,
        h('label', { for: 'token' }, 'Access token'),
        h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password', required: true, size: 48, autofocus: true })),
      h('button', { type: 'submit', class: 'primary' }, 'Sign in')),
  );
}

async function show(c: Ctx): Promise<Response> {
  const next = safeNext(c.req.query('next'));
  const s = await currentSession(c);
  if (s) return redirect(c, next);
  return render(c, { title: 'Sign in' }, signInForm(next));
}

async function signIn(c: Ctx): Promise<Response> {
  if (!sameOrigin(c)) {
    return render(c, { title: 'Sign in', status: 403, error: 'This sign-in form was sent from another site; sign in from regate itself.' }, signInForm(`${UI}/models`));
  }
  const form = await readForm(c);
  if (!form) return unreadableForm(c, null);
  const token = field(form, 'token').trim();
  const next = safeNext(field(form, 'next') || undefined);
  const r = token === '' ? { error: 'Enter an access token.' } : await principalFor(c, token);
  if ('error' in r) return render(c, { title: 'Sign in', status: 401, error: `Sign-in failed: ${r.error}` }, signInForm(next));
  startSession(c, token);
  return redirect(c, next);
}

const signOut = action(async (c) => {
  endSession(c);
  return redirect(c, `${UI}/sign-in`);
});

export const signInRoutes = { show, signIn, signOut };
