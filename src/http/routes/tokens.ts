/**
 * @module token-routes
 * Personal access tokens: `/api/2.0/token/{create,list,delete}` for oneself, and token management for
 * admins: `/api/2.0/token-management/on-behalf-of/tokens` (for a service principal by `application_id`, as
 * Databricks does, or for a user by `user_name`, regate's extension so it runs without an external identity
 * provider) and `/api/2.0/token-management/tokens[/{id}]`. The secret is returned once, by create.
 */
import { denied, invalid, notFound } from '../../core/errors.ts';
import { createToken, deleteToken, getToken, listTokens, type TokenRow } from '../../core/identity/tokens.ts';
import { findPrincipal, getPrincipal } from '../../core/identity/store.ts';
import type { Ctx, Route } from '../env.ts';
import { params, type Params } from '../params.ts';

/** Ten years: the longest lifetime a token may be given. */
const MAX_LIFETIME_SECONDS = 10 * 365 * 24 * 3600;

function tokenInfo(t: TokenRow): Record<string, unknown> {
  return { token_id: t.id, creation_time: t.created_at, expiry_time: t.expires_at ?? -1, comment: t.comment };
}

async function managedInfo(c: Ctx, t: TokenRow): Promise<Record<string, unknown>> {
  const owner = await getPrincipal(c.var.deps.db, t.principal_id);
  const creator = await getPrincipal(c.var.deps.db, t.created_by);
  return {
    ...tokenInfo(t),
    owner_id: Number(t.principal_id),
    created_by_id: Number(t.created_by),
    created_by_username: creator?.name ?? '',
    ...(owner?.kind === 'user' ? { owner_username: owner.name } : {}),
  };
}

function lifetime(p: Params): number | null {
  return p.int('lifetime_seconds', { min: -1, max: MAX_LIFETIME_SECONDS }) ?? null;
}

export const routes: Route[] = [
  {
    method: 'POST',
    path: '/api/2.0/token/create',
    handler: async (c) => {
      const p = await params(c);
      const me = c.var.principal;
      const { token, row } = await createToken(c.var.deps.db, c.var.deps.clock, {
        principalId: me.id,
        createdBy: me.id,
        comment: p.str('comment', { optional: true, max: 1024 }) ?? '',
        lifetimeSeconds: lifetime(p),
      });
      return c.json({ token_value: token, token_info: tokenInfo(row) });
    },
  },
  {
    method: 'GET',
    path: '/api/2.0/token/list',
    handler: async (c) => c.json({ token_infos: (await listTokens(c.var.deps.db, c.var.principal.id)).map(tokenInfo) }),
  },
  {
    method: 'POST',
    path: '/api/2.0/token/delete',
    handler: async (c) => {
      const id = (await params(c)).str('token_id', { max: 128 });
      if (!(await deleteToken(c.var.deps.db, id, c.var.principal.id))) throw notFound(`Token ${id} does not exist.`);
      return c.json({});
    },
  },
  {
    method: 'POST',
    path: '/api/2.0/token-management/on-behalf-of/tokens',
    auth: 'admin',
    handler: async (c) => {
      const p = await params(c);
      const applicationId = p.str('application_id', { optional: true, max: 256 });
      const userName = p.str('user_name', { optional: true, max: 256 });
      if ((applicationId === undefined) === (userName === undefined)) {
        throw invalid('Give exactly one of application_id (a service principal) or user_name (a user).');
      }
      const owner = applicationId !== undefined
        ? await findPrincipal(c.var.deps.db, 'service_principal', applicationId)
        : await findPrincipal(c.var.deps.db, 'user', userName!);
      if (!owner) throw notFound(applicationId !== undefined ? `Service principal ${applicationId} does not exist.` : `User ${userName} does not exist.`);
      const { token, row } = await createToken(c.var.deps.db, c.var.deps.clock, {
        principalId: owner.id,
        createdBy: c.var.principal.id,
        comment: p.str('comment', { optional: true, max: 1024 }) ?? '',
        lifetimeSeconds: lifetime(p),
      });
      return c.json({ token_value: token, token_info: await managedInfo(c, row) });
    },
  },
  {
    method: 'GET',
    path: '/api/2.0/token-management/tokens',
    auth: 'admin',
    handler: async (c) => {
      const p = await params(c);
      const byId = p.str('created_by_id', { optional: true, max: 64 });
      const byName = p.str('created_by_username', { optional: true, max: 256 });
      const infos = [];
      for (const t of await listTokens(c.var.deps.db)) {
        const info = await managedInfo(c, t);
        if (byId !== undefined && String(info.created_by_id) !== byId) continue;
        if (byName !== undefined && info.created_by_username !== byName) continue;
        infos.push(info);
      }
      return c.json({ token_infos: infos });
    },
  },
  {
    method: 'GET',
    path: '/api/2.0/token-management/tokens/:id',
    auth: 'admin',
    handler: async (c) => {
      const t = await getToken(c.var.deps.db, c.req.param('id') ?? '');
      if (!t) throw notFound(`Token ${c.req.param('id')} does not exist.`);
      return c.json({ token_info: await managedInfo(c, t) });
    },
  },
  {
    method: 'DELETE',
    path: '/api/2.0/token-management/tokens/:id',
    auth: 'admin',
    handler: async (c) => {
      if (!(await deleteToken(c.var.deps.db, c.req.param('id') ?? ''))) throw notFound(`Token ${c.req.param('id')} does not exist.`);
      return c.json({});
    },
  },
];
