/**
 * @module wrk
 * One wrk run (`wrk -t<T> -c<C> -d<N>s --latency --timeout 30s`), parsed: requests/s, p50/p99 latency, and the
 * counts that make a run invalid (non-2xx/3xx answers, socket errors). The long timeout keeps slow answers in
 * the latency distribution instead of wrk's timeout count.
 */
import { runAsync } from './procs.ts';

export interface WrkOptions {
  url: string;
  /** Bounds on the mean bytes read per response (headers + body): a check that the answers had the expected size. */
  bytesPerResponse?: { min?: number; max?: number };
  headers: Record<string, string>;
  threads: number;
  connections: number;
  seconds: number;
}

export interface WrkResult {
  rps: number;
  requests: number;
  /** Bytes wrk read (headers and bodies), as wrk reports it (2 decimals of a KiB/MiB/GiB unit). */
  bytesRead: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  /** The command, with credentials replaced by placeholders. */
  command: string;
}

export function wrkArgs(o: WrkOptions): string[] {
  const args = [`-t${o.threads}`, `-c${o.connections}`, `-d${o.seconds}s`, '--latency', '--timeout', '30s'];
  for (const [k, v] of Object.entries(o.headers)) args.push('-H', `${k}: ${v}`);
  args.push(o.url);
  return args;
}

/** Latency text of wrk ("812.00us", "3.21ms", "1.02s", "2.00m") in ms. */
export function latencyMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) throw new Error(`unreadable wrk latency '${text}'`);
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000;
}

export function parseWrk(out: string): Omit<WrkResult, 'command'> {
  const num = (re: RegExp, what: string) => {
    const m = re.exec(out);
    if (!m) throw new Error(`wrk output has no ${what}:\n${out}`);
    return m;
  };
  const rps = Number(num(/Requests\/sec:\s+([\d.]+)/, 'Requests/sec')[1]);
  const requests = Number(num(/(\d+) requests in/, 'request count')[1]);
  const br = num(/requests in [^,]+,\s+([\d.]+)(B|KB|MB|GB|TB) read/, 'bytes read');
  const bytesRead = Number(br[1]) * 1024 ** ['B', 'KB', 'MB', 'GB', 'TB'].indexOf(br[2]!);
  const p50ms = latencyMs(num(/^\s+50%\s+(\S+)/m, 'p50')[1]!);
  const p99ms = latencyMs(num(/^\s+99%\s+(\S+)/m, 'p99')[1]!);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = se
    ? { connect: Number(se[1]), read: Number(se[2]), write: Number(se[3]), timeout: Number(se[4]) }
    : { connect: 0, read: 0, write: 0, timeout: 0 };
  return { rps, requests, bytesRead, p50ms, p99ms, non2xx, socketErrors };
}

/**
 * Runs wrk and returns its figures; throws when the run is not valid (wrk failed, any non-2xx/3xx answer, any
 * socket error): a figure that failed its checks is not reported.
 */
export async function runWrk(o: WrkOptions, shownHeaders: Record<string, string> = o.headers, shownUrl = o.url): Promise<WrkResult> {
  const r = await runAsync('wrk', wrkArgs(o), { timeoutMs: (o.seconds + 60) * 1000 });
  const shown = ['wrk', ...wrkArgs({ ...o, headers: shownHeaders, url: shownUrl })].map(shellQuote).join(' ');
  if (r.code !== 0 || r.timedOut) throw new Error(`${shown} failed (exit ${r.code ?? r.signal}${r.timedOut ? ', time limit' : ''}): ${r.stderr}${r.stdout}`);
  const parsed = parseWrk(r.stdout);
  const se = parsed.socketErrors;
  if (parsed.non2xx > 0 || se.connect + se.read + se.write + se.timeout > 0) {
    throw new Error(`${shown}: ${parsed.non2xx} non-2xx/3xx answers, socket errors ${JSON.stringify(se)}\n${r.stdout}`);
  }
  if (parsed.requests === 0) throw new Error(`${shown}: no request completed\n${r.stdout}`);
  const mean = parsed.bytesRead / parsed.requests;
  const b = o.bytesPerResponse;
  // wrk rounds the total to 2 decimals of its unit: allow 1 % either way.
  if (b && ((b.min !== undefined && mean < b.min * 0.99) || (b.max !== undefined && mean > b.max * 1.01))) {
    throw new Error(`${shown}: ${mean.toFixed(0)} bytes per response on average, expected ${b.min ?? 0}–${b.max ?? '∞'}\n${r.stdout}`);
  }
  return { ...parsed, command: shown };
}

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
