/**
 * @module audit-routes
 * `GET /api/2.0/regate/audit`: the audit trail for workspace admins, newest first, filtered by model id,
 * principal id or action, paged by `page_token` (the id to continue below).
 */
import { invalid } from '../../core/errors.ts';
import { listAudit } from '../../core/audit.ts';
import type { Route } from '../env.ts';
import { params } from '../params.ts';

export const routes: Route[] = [
  {
    method: 'GET',
    path: '/api/2.0/regate/audit',
    auth: 'admin',
    handler: async (c) => {
      // Read your writes: rows still waiting in the group commit are written first.
      await c.var.deps.audit.flush();
      const p = await params(c);
      const limit = p.int('max_results', { min: 1, max: 1000, fallback: 100 })!;
      const token = p.str('page_token', { optional: true, max: 32 });
      if (token !== undefined && !/^[1-9][0-9]{0,14}$/.test(token)) throw invalid('Invalid page_token.');
      const rows = await listAudit(c.var.deps.db, {
        ...(p.has('model_id') ? { modelId: p.str('model_id', { max: 64 }) } : {}),
        ...(p.has('principal_id') ? { principalId: p.str('principal_id', { max: 64 }) } : {}),
        ...(p.has('action') ? { action: p.str('action', { max: 64 }) } : {}),
        ...(token !== undefined ? { beforeId: Number(token) } : {}),
        limit,
      });
      const events = rows.map((r) => ({
        id: r.id,
        timestamp: r.at,
        principal_id: r.principal_id,
        action: r.action,
        model_id: r.model_id,
        version: r.version === null ? null : String(r.version),
        path: r.path,
        bytes: r.bytes,
        status: r.status,
        detail: r.detail,
      }));
      const last = rows.at(-1);
      return c.json({ events, ...(rows.length === limit && last ? { next_page_token: String(last.id) } : {}) });
    },
  },
];
