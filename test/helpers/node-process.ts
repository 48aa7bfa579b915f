/**
 * @module node-process
 * Starts the Node entry (`node src/runtime/node.ts`) as a user would, on a free port, and waits for its
 * listening line. Tests keep the processes in `running` and kill them after each test.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export async function startNode(env: Record<string, string>, running: ChildProcess[]): Promise<{ url: string; out: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ['src/runtime/node.ts'], { env: { ...process.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(proc);
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /regate listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  return { url, out, proc };
}

/** Resolves once the process has exited (at once if it already has). */
export function exited(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => (proc.exitCode !== null || proc.signalCode !== null ? resolve() : proc.on('exit', () => resolve())));
}
