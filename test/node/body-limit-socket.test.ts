/**
 * Over-long request bodies on a real socket (item 3): twelve clients each streaming a 700 MiB chunked JSON body
 * get 413 MAX_BLOCK_SIZE_EXCEEDED in the wire's error shape, the server's peak RSS stays far below the bodies
 * (it was 6.4 GiB when bodies were read whole), and a 700 MiB Content-Length is answered before the body.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startNode } from '../helpers/node-process.ts';

const TOKEN = 'dapi-body-limit-0123456789abcdef';
const MiB = 1024 * 1024;
const running: ChildProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.kill('SIGKILL');
});

/** Peak resident set of a process, bytes (Linux). */
function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/**
 * Sends `head`, then (chunked) up to `total` bytes as fast as the socket takes them, and stops as soon as a
 * response arrives or the server closes. Resolves with the response text and the body bytes written.
 */
function streamBody(url: string, path: string, total: number, extraHeaders = ''): Promise<{ response: string; written: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), hostname);
    let response = '';
    let written = 0;
    let stop = false;
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    const pump = () => {
      while (!stop && written < total) {
        written += chunk.length;
        if (!sock.write(framed)) return void sock.once('drain', pump);
      }
      if (!stop) sock.write('0\r\n\r\n');
    };
    sock.on('connect', () => {
      sock.write(
        `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\n` +
          `${extraHeaders || 'Transfer-Encoding: chunked\r\n'}\r\n${extraHeaders ? '{' : '1\r\n{\r\n'}`,
      );
      if (!extraHeaders) pump();
    });
    sock.on('data', (d) => {
      response += d.toString();
      if (/\r\n\r\n[\s\S]*\}/.test(response)) {
        stop = true;
        sock.destroy();
        resolve({ response, written });
      }
    });
    sock.on('error', () => {
      stop = true;
      if (response) resolve({ response, written });
      else reject(new Error(`socket error after ${written} bytes`));
    });
    sock.on('close', () => {
      stop = true;
      resolve({ response, written });
    });
  });
}

describe('request body limit on a real socket', () => {
  it('twelve parallel 700 MiB JSON bodies get 413 without the server holding them', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'regate-body-')), 'data');
    const s = await startNode({ REGATE_DATA_DIR: dataDir, REGATE_ADMIN_TOKEN: TOKEN }, running);
    const paths = ['/api/2.0/mlflow/registered-models/create', '/api/2.0/dbfs/put', '/api/2.0/dbfs/add-block', '/api/2.0/mlflow/model-versions/create'];
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => streamBody(s.url, paths[i % paths.length]!, 700 * MiB)));
    for (const r of results) {
      expect(r.response).toMatch(/^HTTP\/1\.1 413 /);
      expect(r.response).toContain('"error_code":"MAX_BLOCK_SIZE_EXCEEDED"');
      // Stopped long before the end: the limit, plus what the kernel's buffers and the 64 MiB drain take.
      expect(r.written).toBeLessThan(100 * MiB);
    }
    expect(peakRss(s.proc.pid!)).toBeLessThan(400 * MiB);
  }, 60_000);

  it('a 700 MiB Content-Length is answered 413 before the body is sent', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'regate-body-')), 'data');
    const s = await startNode({ REGATE_DATA_DIR: dataDir, REGATE_ADMIN_TOKEN: TOKEN }, running);
    const r = await streamBody(s.url, '/api/2.0/mlflow/registered-models/create', 0, `Content-Length: ${700 * MiB}\r\n`);
    expect(r.response).toMatch(/^HTTP\/1\.1 413 /);
    expect(r.response).toContain('"error_code":"MAX_BLOCK_SIZE_EXCEEDED"');
  });
});
