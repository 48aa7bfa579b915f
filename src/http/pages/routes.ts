/**
 * @module page-routes
 * The pages' rows of the route table, all under `/ui/` (one prefix, so the pages never collide with an API
 * path, a proxy can route or restrict them in one rule, and the cookie-authenticated surface is easy to
 * name). Paths are literal and parameters travel in the query, because model names may hold characters the
 * path guard refuses in a path (an encoded slash).
 *
 * They are `public` in the table only in the sense that app.ts does not look for a bearer header on them: the
 * pages' credential is the session cookie, checked by guard.ts with the same `authenticate()`. The security
 * suite checks that no page answers without a session and no form post works without its form token.
 */
import type { Route } from '../env.ts';
import { UI, redirect } from './layout.ts';
import { signInRoutes } from './sign-in.ts';
import { modelsPage } from './models-page.ts';
import { modelPage } from './model-page.ts';
import { modelActions } from './model-actions.ts';
import { permissionsPage } from './permissions-page.ts';

/** The sign-in page and its form: the only page routes that need no session. */
export const SIGN_IN_PATH = `${UI}/sign-in`;

export const routes: Route[] = [
  { method: 'GET', path: UI, auth: 'public', handler: (c) => redirect(c, `${UI}/models`) },
  { method: 'GET', path: `${UI}/`, auth: 'public', handler: (c) => redirect(c, `${UI}/models`) },
  { method: 'GET', path: SIGN_IN_PATH, auth: 'public', handler: signInRoutes.show },
  { method: 'POST', path: SIGN_IN_PATH, auth: 'public', handler: signInRoutes.signIn },
  { method: 'POST', path: `${UI}/sign-out`, auth: 'public', handler: signInRoutes.signOut },
  { method: 'GET', path: `${UI}/models`, auth: 'public', handler: modelsPage },
  { method: 'GET', path: `${UI}/model`, auth: 'public', handler: modelPage },
  { method: 'POST', path: `${UI}/model/description`, auth: 'public', handler: modelActions.description },
  { method: 'POST', path: `${UI}/model/request`, auth: 'public', handler: modelActions.request },
  { method: 'POST', path: `${UI}/model/decide`, auth: 'public', handler: modelActions.decide },
  { method: 'POST', path: `${UI}/model/comment`, auth: 'public', handler: modelActions.comment },
  { method: 'GET', path: `${UI}/permissions`, auth: 'public', handler: permissionsPage.show },
  { method: 'POST', path: `${UI}/permissions`, auth: 'public', handler: permissionsPage.change },
];
