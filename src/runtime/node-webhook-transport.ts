/**
 * @module node-webhook-transport
 * Webhook sends on Node: node:http/https with the SSRF guard in the connection's own DNS lookup. Every address
 * the host name resolves to is checked (dns.lookup with `all`), and the socket connects only to those checked
 * addresses, so a name cannot pass the check and then be re-resolved to an internal address (DNS rebinding).
 * IP literals never reach the lookup: the core checks them from the URL (address-policy.ts). Redirects are never
 * followed (node:http does not), the whole exchange has a time limit, and at most `maxResponseBytes` of the
 * answer are read before the socket is closed. `enable_ssl_verification: false` turns certificate checks off
 * for that webhook only.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { refusedAddress, type AllowList } from '../core/webhooks/address-policy.ts';
import { DeliveryError, type WebhookTransport } from '../core/webhooks/transport.ts';
import type { Timers } from '../core/timers.ts';

/** dns.lookup's shape with `all: true` (tests pass a fake resolver to reach every address class). */
export type Resolver = (hostname: string, cb: (err: Error | null, addresses: LookupAddress[]) => void) => void;

export const systemResolver: Resolver = (hostname, cb) => dnsLookup(hostname, { all: true, verbatim: true }, cb);

export function nodeWebhookTransport(allow: AllowList, timers: Timers, resolve: Resolver = systemResolver): WebhookTransport {
  return {
    send(req, limits) {
      return new Promise((resolvePromise, reject) => {
        let refused: string | null = null;
        let settled = false;
        const lookup: LookupFunction = (hostname, options, cb) => {
          resolve(hostname, (err, addresses) => {
            if (err) return cb(err, '', 0);
            if (addresses.length === 0) return cb(new Error(`${hostname} resolves to no address`), '', 0);
            for (const a of addresses) {
              const why = refusedAddress(hostname, a.address, allow);
              if (why !== null) {
                refused = `${hostname} resolves to ${why}; allow it with REGATE_WEBHOOK_ALLOW_HOSTS`;
                return cb(new Error(refused), '', 0);
              }
            }
            if ((options as { all?: boolean }).all) return (cb as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
            return cb(null, addresses[0]!.address, addresses[0]!.family);
          });
        };
        const done = (e: Error | null, value?: { status: number; body: string }) => {
          if (settled) return;
          settled = true;
          timers.clearTimeout(timer);
          if (e) reject(e);
          else resolvePromise(value!);
        };
        const https = req.url.protocol === 'https:';
        const options = {
          method: 'POST',
          headers: { ...req.headers, 'Content-Length': String(Buffer.byteLength(req.body)) },
          lookup,
          agent: false as const,
          ...(https ? { rejectUnauthorized: req.verifyTls } : {}),
        };
        const onResponse = (res: IncomingMessage) => {
          const parts: Buffer[] = [];
          let have = 0;
          const finish = () => {
            res.destroy();
            done(null, { status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') });
          };
          res.on('data', (chunk: Buffer) => {
            const take = chunk.subarray(0, limits.maxResponseBytes - have);
            parts.push(take);
            have += take.length;
            if (have >= limits.maxResponseBytes) finish();
          });
          res.on('end', finish);
          res.on('error', (e) => done(new DeliveryError('network', e.message)));
        };
        const r = https ? httpsRequest(req.url, options, onResponse) : httpRequest(req.url, options, onResponse);
        const timer = timers.setTimeout(() => {
          done(new DeliveryError('timeout', `no complete answer within ${limits.timeoutMs} ms`));
          r.destroy();
        }, limits.timeoutMs);
        r.on('error', (e) => done(refused !== null ? new DeliveryError('refused', refused) : new DeliveryError('network', e.message)));
        r.end(req.body);
      });
    },
  };
}
