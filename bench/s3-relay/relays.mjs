/**
 * @module relays
 * Bare Node relays in front of an S3 server, for bench/s3-relay/ab.sh: what a Node hop costs per byte without
 * regate. `node relays.mjs MODE PORT UPSTREAM_PORT`, MODE:
 * - http: `http.request` piped into the response (keep-alive), as test/helpers/s3-fault-proxy.ts does;
 * - http-hwm: the same with `highWaterMark: 1 MiB` on the upstream request;
 * - http-onread: like http, but the upstream socket reads with `onread` into one reused 64 KiB buffer and hands
 *   each read to the HTTP parser as a 'data' event (the parser copies body bytes out, so reuse is safe): one
 *   Buffer allocation per chunk fewer, to see what the per-read allocations cost in garbage collection;
 * - tcp: `net` sockets piped both ways (no HTTP parsing at all);
 * - tcp-onread: upstream read with `onread` into fresh 1 MiB buffers (the largest reads Node offers), written to
 *   the client as they come, with backpressure: the ceiling of any Node relay.
 */
import http from 'node:http';
import net from 'node:net';
const [mode, port, up] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const agent = new http.Agent({ keepAlive: true });
if (mode === 'http-onread') {
  agent.createConnection = (opts) => {
    const buf = Buffer.allocUnsafe(64 * 1024);
    const sock = net.connect({ ...opts, onread: { buffer: buf, callback: (n) => void sock.emit('data', buf.subarray(0, n)) } });
    return sock;
  };
}
let srv;
if (mode.startsWith('http')) {
  srv = http.createServer((req, res) => {
    const u = http.request({ host: '127.0.0.1', port: up, method: req.method, path: req.url, headers: req.headers, agent, ...(mode === 'http-hwm' ? { highWaterMark: 1 << 20 } : {}) }, (ans) => {
      res.writeHead(ans.statusCode, ans.headers);
      ans.pipe(res);
    });
    req.pipe(u);
  });
} else {
  srv = net.createServer((c) => {
    if (mode === 'tcp') {
      const u = net.connect(up, '127.0.0.1');
      c.pipe(u);
      u.pipe(c);
      return;
    }
    const u = net.connect({
      port: up,
      host: '127.0.0.1',
      onread: {
        buffer: () => Buffer.allocUnsafe(1 << 20),
        callback: (n, b) => {
          if (!c.write(b.subarray(0, n))) {
            u.pause();
            c.once('drain', () => u.resume());
          }
        },
      },
    });
    c.pipe(u);
    u.on('end', () => c.end());
  });
}
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(0));
srv.listen(port, '127.0.0.1');
