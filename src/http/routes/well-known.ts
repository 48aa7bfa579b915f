/**
 * @module well-known
 * `GET /.well-known/databricks-config`: the host metadata every Databricks SDK client (Python >= 0.101, Go:
 * the Databricks CLI and the Terraform provider) fetches, without credentials, while resolving its config.
 * Answered from memory, fast.
 *
 * The fields are the ones the SDKs read (HostMetadata in databricks-sdk-go config/host_metadata.go and the
 * Python SDK's oauth.HostMetadata): `workspace_id`; `host_type: "workspace"`, so the Go SDK never guesses
 * an account host from the name; and `oidc_endpoint`, whose absence makes the Go SDK warn "Host metadata
 * missing oidc_endpoint" on every command. The SDKs only turn it into a discovery URL
 * (`<oidc_endpoint>/.well-known/oauth-authorization-server`) used by the OAuth auth types, which regate
 * does not offer (token auth never fetches it). It is built from the public origin under the same rule as
 * signed URIs (core/public-origin.ts); for a Host that rule refuses, it is left out rather than echoing
 * the Host.
 */
import { publicOriginOrUndefined } from '../../core/public-origin.ts';
import type { Route } from '../env.ts';

export const routes: Route[] = [
  {
    method: 'GET',
    path: '/.well-known/databricks-config',
    auth: 'public',
    handler: (c) => {
      const { deps } = c.var;
      const origin = publicOriginOrUndefined(deps.config, new URL(c.req.url).origin);
      return c.json({
        workspace_id: deps.workspaceId,
        host_type: 'workspace',
        ...(origin !== undefined ? { oidc_endpoint: `${origin}/oidc` } : {}),
      });
    },
  },
];
