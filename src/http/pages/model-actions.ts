/**
 * @module model-actions
 * The model page's forms: save the description, request a transition, approve / reject / cancel a request,
 * add a comment. Each is one call to the API route a client would make, as the signed-in caller, so the
 * permission gate, the stage rules and the audit are the API's own. A refusal is shown in the API's words
 * with the API's status and changes nothing.
 */
import type { Ctx } from '../env.ts';
import { h } from './h.ts';
import { api, type ApiResult } from './api.ts';
import { UI, pageUrl, redirect, render } from './layout.ts';
import { action, field, type Form } from './guard.ts';
import type { Session } from './session.ts';

function done(c: Ctx, s: Session, name: string, r: ApiResult, code: string): Promise<Response> | Response {
  if (r.ok) return redirect(c, pageUrl(`${UI}/model`, { name, done: code }));
  return render(c, { title: 'Not done', session: s, status: r.status, error: r.message },
    h('p', null, h('a', { href: pageUrl(`${UI}/model`, { name }) }, `Back to ${name}`)));
}

const description = action(async (c, s, f: Form) => {
  const name = field(f, 'name');
  const r = await api(c, s.token, 'PATCH', '/api/2.0/mlflow/registered-models/update', { body: { name, description: field(f, 'description') } });
  return done(c, s, name, r, 'description');
});

const request = action(async (c, s, f) => {
  const name = field(f, 'name');
  const comment = field(f, 'comment');
  const r = await api(c, s.token, 'POST', '/api/2.0/mlflow/transition-requests/create', {
    body: { name, version: field(f, 'version'), stage: field(f, 'stage'), ...(comment ? { comment } : {}) },
  });
  return done(c, s, name, r, 'requested');
});

const decide = action(async (c, s, f) => {
  const name = field(f, 'name');
  const target = { name, version: field(f, 'version'), stage: field(f, 'stage') };
  const decision = field(f, 'decision');
  let r: ApiResult;
  if (decision === 'approve') {
    r = await api(c, s.token, 'POST', '/api/2.0/mlflow/transition-requests/approve', { body: { ...target, archive_existing_versions: false } });
  } else if (decision === 'reject') {
    r = await api(c, s.token, 'POST', '/api/2.0/mlflow/transition-requests/reject', { body: target });
  } else if (decision === 'cancel') {
    r = await api(c, s.token, 'DELETE', '/api/2.0/mlflow/transition-requests/delete', { query: { ...target, creator: field(f, 'creator') } });
  } else {
    r = { ok: false, status: 400, json: {}, message: 'Choose approve, reject or cancel.' };
  }
  return done(c, s, name, r, decision);
});

const comment = action(async (c, s, f) => {
  const name = field(f, 'name');
  const r = await api(c, s.token, 'POST', '/api/2.0/mlflow/comments/create', { body: { name, version: field(f, 'version'), comment: field(f, 'comment') } });
  return done(c, s, name, r, 'comment');
});

export const modelActions = { description, request, decide, comment };
