/**
 * @module nginx
 * The peer of figure 2: nginx (Debian nginx-light, one worker) serving one file behind `secure_link` with
 * `secure_link_md5 "$secure_link_expires$uri <secret>"`: an expiring, signed URL checked in C, then the static
 * module's Range support. Runs in the foreground (`daemon off`) from its own prefix directory on 127.0.0.1, with an
 * access log like regate's download log; stopped by its master's PID (process group).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { spawnLogged, type Child } from '../lib/procs.ts';
import { call } from '../lib/http.ts';

export interface Nginx {
  url: string;
  child: Child;
  configPath: string;
  /** A secure_link URL for the file, valid for `ttlSeconds`. */
  signedPath(ttlSeconds: number): string;
  /** The same URL with a wrong signature (must be refused). */
  forgedPath(ttlSeconds: number): string;
}

/** A port that was free a moment ago on 127.0.0.1 (nginx needs a number; it fails loudly if it was taken). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export function nginxConfig(o: { prefix: string; port: number; fileDir: string; secret: string; runAsRoot: boolean }): string {
  const p = o.prefix;
  return `# Written by bench/peers/nginx.ts for one benchmark run.
${o.runAsRoot ? 'user root;  # the served file is in a 0700 temp dir owned by root\n' : ''}worker_processes 1;
daemon off;
pid ${p}/nginx.pid;
error_log ${p}/error.log warn;
events { worker_connections 1024; }
http {
  access_log ${p}/access.log;
  client_body_temp_path ${p}/tmp/body;
  proxy_temp_path ${p}/tmp/proxy;
  fastcgi_temp_path ${p}/tmp/fastcgi;
  uwsgi_temp_path ${p}/tmp/uwsgi;
  scgi_temp_path ${p}/tmp/scgi;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  # Node keeps a keep-alive connection for any number of requests; nginx closes it after 1000 by default.
  keepalive_requests 10000000;
  keepalive_timeout 65s;
  server {
    listen 127.0.0.1:${o.port};
    location /files/ {
      secure_link $arg_md5,$arg_expires;
      secure_link_md5 "$secure_link_expires$uri ${o.secret}";
      if ($secure_link = "") { return 403; }
      if ($secure_link = "0") { return 410; }
      alias ${o.fileDir}/;
    }
  }
}
`;
}

/** Starts nginx serving `file` (its directory is aliased; only this file's name is ever signed). */
export async function startNginx(workDir: string, file: string): Promise<Nginx> {
  const prefix = join(workDir, 'nginx');
  mkdirSync(join(prefix, 'tmp'), { recursive: true });
  const port = await freePort();
  const secret = randomBytes(16).toString('hex');
  const configPath = join(prefix, 'nginx.conf');
  writeFileSync(configPath, nginxConfig({ prefix, port, fileDir: dirname(file), secret, runAsRoot: process.getuid?.() === 0 }));
  const child = spawnLogged({
    name: 'nginx',
    cmd: 'nginx',
    args: ['-p', prefix, '-e', join(prefix, 'error.log'), '-c', configPath],
    cwd: prefix,
    env: process.env,
    logPath: join(prefix, 'stdout.log'),
  });
  const url = `http://127.0.0.1:${port}`;
  const uri = `/files/${basename(file)}`;
  const sign = (expires: number) => createHash('md5').update(`${expires}${uri} ${secret}`).digest('base64url');
  const at = (ttl: number) => Math.floor(Date.now() / 1000) + ttl;
  const nginx: Nginx = {
    url,
    child,
    configPath,
    signedPath: (ttl) => {
      const e = at(ttl);
      return `${uri}?md5=${sign(e)}&expires=${e}`;
    },
    forgedPath: (ttl) => {
      const e = at(ttl);
      return `${uri}?md5=${sign(e + 1)}&expires=${e}`;
    },
  };
  try {
    // nginx prints nothing when it is up: poll until it answers (any status) or exits.
    let exit: number | string | undefined;
    void child.exited.then((c) => {
      exit = c;
    });
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await call(url, 'GET', '/', { timeoutMs: 1000 });
        break;
      } catch (e) {
        if (exit !== undefined) throw new Error(`nginx exited (${exit}):\n${child.tail()}`);
        if (Date.now() > deadline) throw new Error(`nginx did not answer on ${url}: ${String(e)}\n${child.tail()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return nginx;
  } catch (e) {
    await child.stop();
    throw e;
  }
}
