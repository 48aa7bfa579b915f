/**
 * @module worker-env
 * What a Worker is given: its bindings (`DB`: D1, `ARTIFACTS`: R2), its vars and secrets (strings), and the
 * per-request execution context. Declared here with the few members regate calls, rather than pulling
 * @cloudflare/workers-types into the Node typecheck (its globals clash with Node's and the DOM's).
 */
import type { D1Database } from '../adapters/d1/d1-db.ts';

/** The R2 binding, as far as the entry needs to know it (the adapter declares what it calls). */
export type R2BucketBinding = object;

export interface WorkerEnv {
  DB: D1Database;
  ARTIFACTS?: R2BucketBinding;
  /** Secrets (`wrangler secret put`) and vars (`[vars]`) arrive as strings beside the bindings. */
  [name: string]: unknown;
}

/** The execution context of one request (`waitUntil` keeps the isolate alive for work after the response). */
export interface WorkerContext {
  waitUntil(promise: Promise<unknown>): void;
}

/** The string-valued entries of `env` (vars and secrets), the shape parseConfig and friends read. */
export function envStrings(env: WorkerEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') out[k] = v;
  return out;
}
