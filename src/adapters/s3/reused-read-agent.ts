/**
 * @module reused-read-agent
 * The keep-alive `http.Agent` for plain-HTTP S3 endpoints (MinIO, versitygw, Ceph on a LAN), whose sockets read
 * into ONE buffer per socket (net's `onread`) instead of a fresh 64 KiB Buffer per read.
 *
 * Why: relaying a large object, Node's HTTP client allocates two Buffers per 64 KiB read — the socket's chunk and
 * the parser's copy of the body bytes. Their external memory makes V8 run a full mark-compact every ~30 MB (36
 * per GiB, measured with --trace-gc), and garbage collection was ≈ 40 % of the relay's CPU (perf; bench/results/
 * 2026-12-01-node-s3.md). Reusing the read buffer removes one of the two allocations: 7–8 instead of ~55
 * mark-compacts per 2 GiB and 0.85–1.17 instead of 1.35 CPU-s per GiB in a bare relay.
 *
 * It is safe because the HTTP parser copies what it keeps: headers into strings, body bytes into the Buffers it
 * pushes to the response, all during `execute`, before the next read can overwrite the buffer. Backpressure is
 * unchanged: `socket.pause()` on an `onread` socket stops reading at the handle (net.js), and the socket's
 * inactivity timer is refreshed on every read as before. TLS sockets have no `onread`, so HTTPS endpoints keep
 * Node's default agent.
 */
import { Agent, type AgentOptions, type ClientRequestArgs } from 'node:http';
import { connect, type NetConnectOpts, type Socket } from 'node:net';

/** Size of each socket's read buffer: what Node reads per `read()` anyway, so reads are no smaller. */
export const READ_BUFFER_BYTES = 64 * 1024;

/** @example new S3Client({ requestHandler: { httpAgent: reusedReadAgent({ keepAlive: true, maxSockets: 256 }) } }) */
export function reusedReadAgent(opts: AgentOptions): Agent {
  const agent = new Agent(opts);
  // Agent#createConnection is the documented hook for the socket a request uses (node:http docs).
  agent.createConnection = (options: ClientRequestArgs): Socket => {
    const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const socket: Socket = connect({
      ...(options as NetConnectOpts),
      onread: {
        buffer,
        // The HTTP client listens for 'data'; it parses (and copies) the bytes before this returns. `true`: read
        // on (a `false` would stop the socket; the client's own pause does that through `socket.pause()`).
        callback: (n: number, buf: Uint8Array): boolean => {
          socket.emit('data', Buffer.from(buf.buffer, buf.byteOffset, n));
          return true;
        },
      },
    });
    return socket;
  };
  return agent;
}
