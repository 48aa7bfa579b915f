/**
 * @module procs
 * Child processes of a benchmark run: output sent to a log file (never a pipe the runner could forget to drain),
 * and stopped by PID: SIGTERM, then SIGKILL after a grace period, then SIGKILL to whatever it had started (nginx
 * workers, a sub-benchmark's servers), found through /proc by parent PID and start time so that no reused PID is
 * ever hit. On the normal path, on error (the callers' try/finally) and when the runner exits or is interrupted.
 * Children stay in the runner's process group, so a CI job killing that group takes them along too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';

export interface Child {
  name: string;
  pid: number;
  proc: ChildProcess;
  logPath: string;
  /** The command line, for the results file. */
  command: string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  stop(): Promise<void>;
  /** The last lines of its log. */
  tail(n?: number): string;
}

interface Tracked {
  pid: number;
  /** SIGTERM, grace, SIGKILL, then the descendants seen before. */
  stop(): Promise<void>;
}

const live = new Set<Tracked>();

/** Parent PID and start time (clock ticks since boot) of a process, from /proc/<pid>/stat; null if gone. */
function stat(pid: number): { ppid: number; start: string } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), start: f[19]! };
  } catch {
    return null;
  }
}

/** Every process below `pid`, each with its start time. Empty where /proc is not available. */
function descendants(pid: number): Array<{ pid: number; start: string }> {
  const children = new Map<number, Array<{ pid: number; start: string }>>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const st = stat(Number(e));
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push({ pid: Number(e), start: st.start });
    children.set(st.ppid, list);
  }
  const out: Array<{ pid: number; start: string }> = [];
  const walk = (p: number, depth: number) => {
    for (const c of depth > 16 ? [] : children.get(p) ?? []) {
      out.push(c);
      walk(c.pid, depth + 1);
    }
  };
  walk(pid, 0);
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGKILL to each process that is still the one recorded (same PID and start time). */
function killRecorded(procs: Array<{ pid: number; start: string }>): void {
  for (const p of procs) if (stat(p.pid)?.start === p.start) signal(p.pid, 'SIGKILL');
}

function track(pid: number, exited: Promise<unknown>, graceMs: number): Tracked {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const t: Tracked = {
    pid,
    async stop() {
      const below = descendants(pid);
      if (!gone) {
        signal(pid, 'SIGTERM');
        const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
        if ((await Promise.race([exited, timeout])) === 'timeout') {
          signal(pid, 'SIGKILL');
          await Promise.race([exited, new Promise((r) => setTimeout(r, 2000).unref())]);
        }
      }
      killRecorded(below);
      live.delete(t);
    },
  };
  live.add(t);
  return t;
}

/** SIGKILLs every child still running and all below it (synchronous: usable in an 'exit' handler). */
export function killAllNow(): void {
  for (const t of live) {
    const below = descendants(t.pid);
    signal(t.pid, 'SIGKILL');
    killRecorded(below);
  }
  live.clear();
}

let handlersInstalled = false;

/** Exit and signal handlers that stop every child still running; installed once, by the first spawn. */
function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping ${live.size} child process(es)\n`);
      const all = [...live];
      const timer = setTimeout(() => process.exit(130), 3000);
      void Promise.allSettled(all.map((t) => t.stop())).then(() => {
        clearTimeout(timer);
        process.exit(130);
      });
    });
  }
}

export interface SpawnOptions {
  name: string;
  cmd: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logPath: string;
  /** How long a SIGTERM gets before SIGKILL, ms. */
  graceMs?: number;
}

/** Starts a process with stdout and stderr written to `logPath`. */
export function spawnLogged(o: SpawnOptions): Child {
  installHandlers();
  const fd = openSync(o.logPath, 'w');
  let proc: ChildProcess;
  try {
    proc = spawn(o.cmd, o.args, { cwd: o.cwd, env: o.env, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  if (proc.pid === undefined) throw new Error(`could not start ${o.name} (${o.cmd})`);
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, sig) => resolve(code ?? sig ?? 'unknown'));
    proc.once('error', (e) => resolve(`spawn error: ${e.message}`));
  });
  const t = track(proc.pid, exited, o.graceMs ?? 5000);
  return {
    name: o.name,
    pid: proc.pid,
    proc,
    logPath: o.logPath,
    command: [o.cmd, ...o.args].join(' '),
    exited,
    stop: () => t.stop(),
    tail: (n = 30) => {
      try {
        return readFileSync(o.logPath, 'utf8').split('\n').slice(-n).join('\n');
      } catch {
        return '';
      }
    },
  };
}

/** Waits until `pattern` appears in the child's log (returns the match), the child exits, or the time is up. */
export async function waitForLog(child: Child, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void child.exited.then(() => {
    gone = true;
  });
  while (Date.now() < deadline) {
    let text = '';
    try {
      text = readFileSync(child.logPath, 'utf8');
    } catch {
      // not written yet
    }
    const m = pattern.exec(text);
    if (m) return m;
    if (gone) throw new Error(`${child.name} exited before it was ready (${await child.exited}):\n${child.tail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${child.name} was not ready within ${timeoutMs} ms:\n${child.tail()}`);
}

/**
 * Waits until `url` answers HTTP (any status: a server may log "ready" before it serves), polling every
 * `pollMs`. If the child exits or the time is up, stops it and throws with `hint` and its log's tail.
 */
export async function waitForHttp(child: Child, url: string, timeoutMs: number, pollMs: number, hint = ''): Promise<void> {
  let gone = false;
  void child.exited.then(() => (gone = true));
  for (const deadline = Date.now() + timeoutMs; ; ) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.arrayBuffer());
      return;
    } catch {
      if (gone || Date.now() > deadline) {
        await child.stop();
        throw new Error(`${child.name} ${gone ? 'exited' : `did not answer within ${timeoutMs / 1000} s`}${hint}:\n${child.tail()}`);
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}

/** Runs a command to completion with a time limit; never throws on a non-zero exit (the caller checks). */
export function runSync(cmd: string, args: string[], opts: { timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv; input?: string }) {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

/** Runs a command asynchronously, output captured; stopped (SIGTERM, then SIGKILL) at the time limit. */
export function runAsync(
  cmd: string,
  args: string[],
  opts: { timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv; echoStderr?: boolean },
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; timedOut: boolean }> {
  installHandlers();
  return new Promise((resolve) => {
    const proc = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (opts.echoStderr) process.stderr.write(d);
    });
    const closed = new Promise<void>((r) => proc.once('close', () => r()));
    const t = proc.pid === undefined ? undefined : track(proc.pid, closed, 5000);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void t?.stop();
    }, opts.timeoutMs);
    proc.once('error', (e) => {
      stderr += `spawn error: ${e.message}`;
    });
    proc.once('close', (code, sig) => {
      clearTimeout(timer);
      void t?.stop(); // untracks it (it has exited: nothing is signalled)
      resolve({ code, signal: sig, stdout, stderr, timedOut });
    });
  });
}
