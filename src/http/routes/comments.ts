/**
 * @module comments
 * Databricks-only comments on model versions (wire-protocol §4.3): create (POST), update (PATCH) and
 * delete (DELETE, `id` in the query string).
 */
import { createComment, deleteComment, updateComment } from '../../core/registry/comments.ts';
import type { Ctx, Route } from '../env.ts';
import { params } from '../params.ts';
import { ok } from '../respond.ts';
import { nameAndVersion } from './transition-requests.ts';

const BASE = '/api/2.0/mlflow/comments';
const COMMENT_MAX = 65536;
const ID_MAX = 256;

export const routes: Route[] = [
  {
    method: 'POST',
    path: `${BASE}/create`,
    handler: async (c: Ctx) => {
      const p = await params(c);
      const { name, version } = nameAndVersion(p);
      const comment = p.str('comment', { max: COMMENT_MAX });
      return ok(c, { comment: await createComment(c.var.deps, c.var.principal, { name, version, comment }) });
    },
  },
  {
    method: 'PATCH',
    path: `${BASE}/update`,
    handler: async (c: Ctx) => {
      const p = await params(c);
      const id = p.str('id', { max: ID_MAX });
      const comment = p.str('comment', { max: COMMENT_MAX });
      return ok(c, { comment: await updateComment(c.var.deps, c.var.principal, id, comment) });
    },
  },
  {
    method: 'DELETE',
    path: `${BASE}/delete`,
    handler: async (c: Ctx) => {
      const id = (await params(c)).str('id', { max: ID_MAX });
      await deleteComment(c.var.deps, c.var.principal, id);
      return ok(c, {});
    },
  },
];
