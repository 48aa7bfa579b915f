/**
 * @module chunked-post
 * A client that streams a large chunked POST body as fast as the socket takes it and stops at the first
 * response (or when the server closes): how the body-limit and full-disk tests push more bytes than the server
 * may keep, without ever holding them in the test.
 */
import { connect } from 'node:net';

export interface ChunkedPost {
  url: string;
  /** Request target, e.g. `/api/2.0/mlflow/registered-models/create`. */
  path: string;
  token: string;
  /** Body bytes to send at most (the filler chunks). */
  total: number;
  /** Sent as the first chunk, before the filler (e.g. `{` to start a JSON body). */
  prefix?: string;
  /** Byte the filler chunks are made of (0x20 keeps a JSON body syntactically open). */
  fill?: number;
  chunkBytes?: number;
  /** Extra header lines; `Content-Length` here replaces the chunked body with `prefix` alone. */
  headers?: Record<string, string>;
}

/** Resolves with the response text (empty when the server closed without one) and the filler bytes written. */
export function postChunked(o: ChunkedPost): Promise<{ response: string; written: number }> {
  const { hostname, port } = new URL(o.url);
  const fixedLength = o.headers !== undefined && Object.keys(o.headers).some((k) => k.toLowerCase() === 'content-length');
  const extra = Object.entries(o.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return new Promise((resolve) => {
    const sock = connect(Number(port), hostname);
    let response = '';
    let written = 0;
    let stop = false;
    const chunk = Buffer.alloc(o.chunkBytes ?? 256 * 1024, o.fill ?? 0x20);
    const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    const pump = () => {
      while (!stop && written < o.total) {
        written += chunk.length;
        if (!sock.write(framed)) return void sock.once('drain', pump);
      }
      if (!stop) sock.write('0\r\n\r\n');
    };
    sock.on('connect', () => {
      const prefix = o.prefix ?? '';
      const head = `POST ${o.path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${o.token}\r\n${extra}`;
      if (fixedLength) return void sock.write(`${head}\r\n${prefix}`);
      sock.write(`${head}Transfer-Encoding: chunked\r\n\r\n${prefix ? `${Buffer.byteLength(prefix).toString(16)}\r\n${prefix}\r\n` : ''}`);
      pump();
    });
    const done = () => {
      stop = true;
      sock.destroy();
      resolve({ response, written });
    };
    sock.on('data', (d) => {
      response += d.toString();
      if (/\r\n\r\n[\s\S]*\}/.test(response)) done();
    });
    sock.on('error', done);
    sock.on('close', done);
  });
}
