/**
 * @module well-known
 * `GET /.well-known/databricks-config`: the host metadata every Databricks SDK client (>= 0.101) fetches,
 * without credentials, on construction. Answered from memory, fast; never an `oidc_endpoint`.
 */
import type { Route } from '../env.ts';

export const routes: Route[] = [
  {
    method: 'GET',
    path: '/.well-known/databricks-config',
    auth: 'public',
    handler: (c) => c.json({ workspace_id: c.var.deps.workspaceId }),
  },
];
