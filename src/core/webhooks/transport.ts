/**
 * @module transport
 * How a delivery leaves: one POST, redirects never followed, a time limit on the whole exchange (headers and
 * body) and at most `maxResponseBytes` of the answer read (the rest is dropped, never buffered). The portable
 * transport is `fetch` (Workers, and Node when no other is given); fetch cannot say which address it connects
 * to, so with it only the URL's host is checked (address-policy.ts: IP literals and `localhost` names). The
 * Node runtime supplies a transport that also checks every address a host name resolves to, at connect time
 * (runtime/node-webhook-transport.ts).
 */
import type { Timers } from '../timers.ts';

export interface WebhookRequest {
  url: URL;
  headers: Record<string, string>;
  body: string;
  /** http_url_spec.enable_ssl_verification (a transport that cannot turn it off verifies anyway). */
  verifyTls: boolean;
}

export interface WebhookResponse {
  status: number;
  /** At most `maxResponseBytes` of the body, decoded as UTF-8. */
  body: string;
}

export interface TransportLimits {
  timeoutMs: number;
  maxResponseBytes: number;
}

/** Why nothing (or no complete answer) came back. `refused`: the SSRF guard said no after resolving. */
export class DeliveryError extends Error {
  readonly kind: 'refused' | 'timeout' | 'network';
  constructor(kind: 'refused' | 'timeout' | 'network', message: string) {
    super(message);
    this.name = 'DeliveryError';
    this.kind = kind;
  }
}

export interface WebhookTransport {
  send(req: WebhookRequest, limits: TransportLimits): Promise<WebhookResponse>;
}

/** Reads at most `max` bytes of a body stream, then cancels the rest. */
export async function readLimited(stream: ReadableStream<Uint8Array> | null, max: number): Promise<string> {
  if (!stream) return '';
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let have = 0;
  try {
    while (have < max) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = value.subarray(0, max - have);
      parts.push(take);
      have += take.length;
    }
  } finally {
    void reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(have);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new TextDecoder().decode(all);
}

/** The portable transport over a `fetch` (globalThis.fetch on Workers). */
export function fetchTransport(fetchFn: typeof fetch, timers: Timers): WebhookTransport {
  return {
    async send(req, limits) {
      const ac = new AbortController();
      const timer = timers.setTimeout(() => ac.abort(), limits.timeoutMs);
      try {
        const res = await fetchFn(req.url.toString(), { method: 'POST', headers: req.headers, body: req.body, redirect: 'manual', signal: ac.signal });
        const body = await readLimited(res.body, limits.maxResponseBytes);
        if (ac.signal.aborted) throw new DeliveryError('timeout', `no complete answer within ${limits.timeoutMs} ms`);
        return { status: res.status, body };
      } catch (e) {
        if (e instanceof DeliveryError) throw e;
        if (ac.signal.aborted) throw new DeliveryError('timeout', `no complete answer within ${limits.timeoutMs} ms`);
        throw new DeliveryError('network', e instanceof Error ? e.message : String(e));
      } finally {
        timers.clearTimeout(timer);
      }
    },
  };
}
