/**
 * @module authenticate
 * Bearer authentication for every non-public route. Only `Authorization: Bearer <token68>` is accepted
 * (scheme case-insensitive, exactly one credential), the hono CVE-2026-47673 class. Failures are 401 with
 * `WWW-Authenticate`, never 403.
 */
import { GatewayError } from '../../core/errors.ts';
import type { Principal } from '../../core/identity/principal.ts';
import type { Deps } from '../env.ts';

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export function unauthenticated(message: string, invalidToken: boolean): GatewayError {
  return new GatewayError('UNAUTHENTICATED', message, {
    'WWW-Authenticate': invalidToken ? 'Bearer realm="regate", error="invalid_token"' : 'Bearer realm="regate"',
  });
}

/**
 * The principal behind an Authorization header value, or a 401 GatewayError. Gets the workspace epochs
 * (`deps.epochs`: one statement, or none on Node while the notice is unchanged); with them the identity cache
 * answers a known token without further SQL.
 */
export async function authenticate(deps: Deps, header: string | undefined): Promise<Principal> {
  if (header === undefined || header === '') {
    throw unauthenticated('Credential was not sent or was of an unsupported type for this API.', false);
  }
  const m = BEARER.exec(header);
  if (!m) throw unauthenticated('Only "Authorization: Bearer <token>" is accepted.', true);
  const epochs = await deps.epochs();
  await deps.keyRing.refresh(epochs.keys);
  const principal = await deps.identities.principalForToken(deps.db, m[1]!, epochs);
  if (!principal) throw unauthenticated('Invalid access token.', true);
  return principal;
}
