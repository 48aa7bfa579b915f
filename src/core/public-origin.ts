/**
 * @module public-origin
 * Which origin regate writes into what it hands out for later use by others (signed download URIs, the OIDC
 * root of `/.well-known/databricks-config`). The request's Host header is the caller's to choose, so it is
 * trusted only where the operator said so, the way a reverse proxy's `server_name` list works:
 *
 * 1. `REGATE_PUBLIC_URL` set: always that origin.
 * 2. `REGATE_PUBLIC_ORIGINS` set: the request's origin when it is in the list, else the list's first entry.
 * 3. Neither: the request's origin only when it is a loopback origin (localhost, 127.0.0.0/8, [::1]), which
 *    only a local client can reach; any other origin is refused with a message naming the setting.
 *
 * `checkPublicOriginSetting` is the start-up side of rule 3: listening beyond loopback without either
 * setting would refuse every signed URI, so the Node entry refuses to start instead.
 */
import type { Config } from './config.ts';
import { GatewayError } from './errors.ts';

type OriginConfig = Pick<Config, 'publicUrl' | 'publicOrigins'>;

/** Whether a host name (as in a URL, IPv6 in brackets, or a bare listen address) is a loopback one. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost') || h === '::1') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return m !== null && m.slice(1).every((x) => Number(x) <= 255);
}

/** Whether `origin` (`scheme://host[:port]`) names a loopback host. */
export function isLoopbackOrigin(origin: string): boolean {
  try {
    return isLoopbackHost(new URL(origin).hostname);
  } catch {
    return false;
  }
}

const SET_IT =
  'Set REGATE_PUBLIC_ORIGINS to the origins clients reach regate by (e.g. https://regate.example.com), ' +
  'or REGATE_PUBLIC_URL to the one origin to use.';

/**
 * The origin to write for a request whose own origin is `requestOrigin`, or undefined when the rules above
 * refuse it. @example publicOriginOrUndefined(config, 'http://127.0.0.1:8080') // 'http://127.0.0.1:8080'
 */
export function publicOriginOrUndefined(config: OriginConfig, requestOrigin: string): string | undefined {
  if (config.publicUrl !== undefined) return config.publicUrl.replace(/\/+$/, '');
  if (config.publicOrigins.length > 0) {
    const wanted = requestOrigin.toLowerCase();
    return config.publicOrigins.find((o) => o.toLowerCase() === wanted) ?? config.publicOrigins[0];
  }
  return isLoopbackOrigin(requestOrigin) ? requestOrigin : undefined;
}

/** As publicOriginOrUndefined, but a refusal is an INVALID_STATE error telling the operator what to set. */
export function publicOrigin(config: OriginConfig, requestOrigin: string): string {
  const origin = publicOriginOrUndefined(config, requestOrigin);
  if (origin !== undefined) return origin;
  throw new GatewayError(
    'INVALID_STATE',
    `regate will not write the request's Host (${requestOrigin.slice(0, 200)}) into a signed URI: it is not a ` +
      `loopback origin and no public origin is configured. ${SET_IT}`,
  );
}

/**
 * Why listening on `host` needs a public-origin setting that is missing, or undefined when all is well.
 * @example checkPublicOriginSetting('0.0.0.0', config) // 'HOST=0.0.0.0 is not a loopback address …'
 */
export function checkPublicOriginSetting(host: string, config: OriginConfig): string | undefined {
  if (isLoopbackHost(host) || config.publicUrl !== undefined || config.publicOrigins.length > 0) return undefined;
  return `HOST=${host} is not a loopback address, and without a configured public origin regate would refuse to ` +
    `write any other Host into signed URIs. ${SET_IT}`;
}
