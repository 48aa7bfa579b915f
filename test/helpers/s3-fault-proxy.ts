/**
 * @module s3-fault-proxy
 * A loopback HTTP proxy in front of the real S3 server that injects the upstream faults of range-and-signing
 * §6 (T13, T17–T20, and the P11 lies) into chosen requests, and records what regate did to its connections.
 * Requests go through byte-for-byte (method, path, headers including Host), so SigV4 signatures made for the
 * proxy's address still verify at the server. Faults: never answer (`hang`), an S3 error answer (`status`:
 * 503 SlowDown with Retry-After, 500, 403, …), a connection reset after N body bytes (`reset-after`), silence
 * after N body bytes (`stall-after`), and an answer rewritten before it is relayed (`rewrite`: wrong status,
 * Content-Range, Content-Length or ETag). Tests wait on `until()`, which re-checks on every recorded event:
 * no polling, no sleeps.
 */
import { EventEmitter } from 'node:events';
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** A buffered upstream answer, for `rewrite` faults. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export type Fault =
  | { kind: 'hang' }
  | { kind: 'status'; status: number; code: string; retryAfter?: string }
  | { kind: 'reset-after'; bytes: number }
  | { kind: 'stall-after'; bytes: number }
  | { kind: 'rewrite'; edit: (a: Answer) => Answer };

export interface FaultRule {
  fault: Fault;
  /** Which requests it applies to; default: object GETs (`isObjectGet`). */
  match?: (r: SeenRequest) => boolean;
  /** Applies to this many matching requests, then the proxy passes them through again (a fault that clears). */
  times?: number;
}

export interface ProxyStats {
  requests: SeenRequest[];
  /** Requests a fault was applied to. */
  faulted: number;
  /** Requests whose client (regate) closed the connection before the answer was complete. */
  closedEarly: number;
  /** Client connections open now (regate's keep-alive pool included). */
  openSockets: number;
}

export interface FaultProxy {
  endpoint: string;
  rules: FaultRule[];
  stats: ProxyStats;
  /** Resolves when `pred()` holds (checked now and after every recorded event); rejects after `ms`. */
  until(pred: () => boolean, ms?: number): Promise<void>;
  close(): Promise<void>;
}

/** GetObject (path style: `/bucket/key…`), not a bucket-level request such as ListObjectsV2. */
export const isObjectGet = (r: SeenRequest): boolean => r.method === 'GET' && /^\/[^/?]+\/[^?]/.test(r.url);

function errorXml(code: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected by s3-fault-proxy</Message><RequestId>proxy</RequestId></Error>`;
}

function plainHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true });
  const events = new EventEmitter();
  const stats: ProxyStats = { requests: [], faulted: 0, closedEarly: 0, openSockets: 0 };
  const rules: FaultRule[] = [];
  const changed = () => events.emit('change');
  const sockets = new Set<Socket>();

  function pick(seen: SeenRequest): Fault | undefined {
    for (const rule of rules) {
      if (!(rule.match ?? isObjectGet)(seen)) continue;
      if (rule.times !== undefined) {
        if (rule.times <= 0) continue;
        rule.times--;
      }
      return rule.fault;
    }
    return undefined;
  }

  function forward(req: IncomingMessage, onAnswer: (up: IncomingMessage) => void, onError: (err: Error) => void) {
    const up = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
      onAnswer,
    );
    up.on('error', onError);
    req.pipe(up);
    return up;
  }

  function handle(req: IncomingMessage, res: ServerResponse) {
    const seen: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    stats.requests.push(seen);
    const fault = pick(seen);
    if (fault) stats.faulted++;
    let complete = false;
    res.once('finish', () => void (complete = true));
    res.once('close', () => {
      if (!complete) {
        stats.closedEarly++;
        changed();
      }
    });
    changed();
    const fail = () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    };

    if (fault?.kind === 'hang') {
      req.resume();
      return; // never answers; the close handler records when regate gives up
    }
    if (fault?.kind === 'status') {
      req.resume();
      const body = errorXml(fault.code);
      res.writeHead(fault.status, {
        'content-type': 'application/xml',
        'content-length': String(Buffer.byteLength(body)),
        ...(fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {}),
      });
      res.end(body);
      return;
    }
    const up = forward(
      req,
      (ans) => {
        if (fault?.kind === 'rewrite') {
          const chunks: Buffer[] = [];
          ans.on('data', (c: Buffer) => chunks.push(c));
          ans.on('end', () => {
            const a = fault.edit({ status: ans.statusCode ?? 502, headers: plainHeaders(ans.headers), body: Buffer.concat(chunks) });
            res.writeHead(a.status, a.headers);
            res.end(a.body);
          });
          return;
        }
        res.writeHead(ans.statusCode ?? 502, ans.headers);
        if (fault?.kind !== 'reset-after' && fault?.kind !== 'stall-after') {
          ans.pipe(res);
          return;
        }
        let sent = 0;
        ans.on('data', (c: Buffer) => {
          const take = Math.min(c.length, fault.bytes - sent);
          sent += take;
          const last = sent >= fault.bytes;
          if (last) {
            ans.removeAllListeners('data');
            ans.destroy();
          }
          // reset-after: once the last bytes have left, a TCP RST; the peer sees ECONNRESET, not a clean end.
          // stall-after: nothing more is ever written; regate must notice the silence.
          const then = last && fault.kind === 'reset-after' ? () => res.socket?.resetAndDestroy() : undefined;
          if (take > 0) res.write(take === c.length ? c : c.subarray(0, take), then);
          else then?.();
        });
      },
      fail,
    );
    res.once('close', () => up.destroy());
  }

  const server = createServer(handle);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    stats.openSockets++;
    changed();
    s.once('close', () => {
      sockets.delete(s);
      stats.openSockets--;
      changed();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    rules,
    stats,
    until(pred, ms = 5000) {
      if (pred()) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          events.off('change', check);
          reject(new Error(`s3-fault-proxy: condition not met within ${ms} ms (${JSON.stringify({ ...stats, requests: stats.requests.length })})`));
        }, ms);
        function check() {
          if (!pred()) return;
          clearTimeout(timer);
          events.off('change', check);
          resolve();
        }
        events.on('change', check);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}
