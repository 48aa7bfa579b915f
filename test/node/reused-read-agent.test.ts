/**
 * The S3 client's plain-HTTP agent (src/adapters/s3/reused-read-agent.ts) over real sockets: every read of a
 * socket lands in one reused buffer, the body still arrives byte for byte (the parser copies before the buffer is
 * reused, also while the consumer is slow), a paused response stops the socket reading (backpressure), and
 * keep-alive reuses the socket. The S3 contract and the S3 HTTP suites run the same agent against versitygw.
 */
import { createHash } from 'node:crypto';
import { Agent, createServer, request, type IncomingMessage, type Server } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READ_BUFFER_BYTES, reusedReadAgent } from '../../src/adapters/s3/reused-read-agent.ts';
import { makeS3Client, parseS3Config } from '../../src/adapters/s3/s3-config.ts';
import { pattern } from '../helpers/streams.ts';

const SIZE = 8 * 1024 * 1024;
const body = Buffer.from(pattern(SIZE, 7));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let server: Server;
let port = 0;
/** Resolves when the server's current response has been written completely. */
let served: Promise<void> = Promise.resolve();
/** Resolves when the server's current response first has to wait for 'drain' (the client is not reading). */
let blocked: Promise<void> = Promise.resolve();

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': String(SIZE) });
    let sent = 0;
    let onBlocked!: () => void;
    blocked = new Promise((r) => (onBlocked = r));
    served = new Promise((done) => {
      const pump = () => {
        while (sent < SIZE) {
          const chunk = body.subarray(sent, Math.min(SIZE, sent + 256 * 1024));
          sent += chunk.length;
          if (sent === SIZE) {
            res.end(chunk, () => done());
            return;
          }
          if (!res.write(chunk)) {
            onBlocked();
            res.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

function get(agent: ReturnType<typeof reusedReadAgent>): Promise<{ res: IncomingMessage; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => resolve({ res, socket: req.socket as Socket }));
    req.on('error', reject);
    req.end();
  });
}

describe('reusedReadAgent', () => {
  it('reads every socket chunk into one buffer and still delivers the body byte for byte to a slow consumer', async () => {
    const agent = reusedReadAgent({ keepAlive: true });
    try {
      const { res, socket } = await get(agent);
      const backing = new Set<ArrayBufferLike>();
      let reads = 0;
      socket.on('data', (chunk: Buffer) => {
        reads++;
        backing.add(chunk.buffer);
        expect(chunk.length).toBeLessThanOrEqual(READ_BUFFER_BYTES);
      });
      const parts: Buffer[] = [];
      // Slow consumer: one chunk per event-loop turn, so reads happen while earlier chunks are still held.
      for await (const chunk of res) {
        parts.push(chunk as Buffer);
        await new Promise((r) => setImmediate(r));
      }
      const got = Buffer.concat(parts);
      expect(got.length).toBe(SIZE);
      expect(sha(got)).toBe(sha(body));
      expect(reads).toBeGreaterThan(1);
      expect(backing.size).toBe(1);
      // Keep-alive: the next request reuses the socket (and its buffer).
      const second = await get(agent);
      expect(second.socket).toBe(socket);
      second.res.resume();
      await new Promise((r) => second.res.on('end', r));
    } finally {
      agent.destroy();
    }
  });

  it('stops reading the socket while the response is paused, then resumes', async () => {
    const agent = reusedReadAgent({ keepAlive: false });
    try {
      const { res, socket } = await get(agent);
      res.pause();
      await blocked;
      // Let every read already under way land; a socket that ignored the pause would read on without end.
      for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
      const readWhilePaused = socket.bytesRead;
      for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
      expect(socket.bytesRead).toBe(readWhilePaused);
      expect(readWhilePaused).toBeLessThan(SIZE);
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.resume();
      await new Promise((r) => res.on('end', r));
      await served;
      expect(sha(Buffer.concat(parts))).toBe(sha(body));
    } finally {
      agent.destroy();
    }
  });

  it('is the plain-HTTP agent of the S3 client', async () => {
    const cfg = parseS3Config({ REGATE_S3_BUCKET: 'models', REGATE_S3_ENDPOINT: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' })!;
    const client = makeS3Client(cfg);
    try {
      // NodeHttpHandler resolves its settings once, into `configProvider` (the HTTP agent behind a provider).
      const handler = client.config.requestHandler as unknown as { configProvider: Promise<{ httpAgentProvider: () => Promise<Agent>; httpsAgent: Agent }> };
      const settings = await handler.configProvider;
      const [httpAgent, httpsAgent] = [await settings.httpAgentProvider(), settings.httpsAgent];
      expect(httpAgent.createConnection).not.toBe(Agent.prototype.createConnection);
      expect(httpAgent.createConnection.toString()).toContain('onread');
      // TLS sockets have no onread: HTTPS keeps Node's own.
      expect(httpsAgent.createConnection).toBe(HttpsAgent.prototype.createConnection);
    } finally {
      client.destroy();
    }
  });
});
