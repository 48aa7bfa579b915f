/**
 * @module worker-harness (workerd test helper)
 * harness.ts's interface (`makeHarness`, `call`, `expectOk`, `user`, …) over the Worker entry itself, running
 * inside workerd with wrangler.toml's bindings (D1 `DB`, R2 `ARTIFACTS`) and the test secrets of
 * vitest.config.ts. Every request goes through `createWorker().fetch(request, env, ctx)`, the function the
 * deployed Worker's default export is, with a real ExecutionContext whose waitUntil work (the audit flush, a
 * download's pipe) is awaited after the body is read, as the runtime would.
 *
 * The workerd vitest project aliases `test/helpers/harness.ts` to this file, so Node suites written against
 * the harness (the permission matrix, the artifact matrix) run unchanged against the Worker. Storage is fresh
 * per test file (the plugin isolates it), and the first admin comes from REGATE_ADMIN_TOKEN.
 *
 * This file must not import harness.ts for values (the alias would make it import itself); what it shares with
 * it is in harness-core.ts.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { createWorker } from '../../src/runtime/worker.ts';
import { manualClock } from '../../src/core/clock.ts';
import type { WorkerEnv } from '../../src/runtime/worker-env.ts';
import { apiClient, DEFAULT_TEST_ENV, recordingLogger, T0 } from '../helpers/harness-core.ts';

export { DEFAULT_TEST_ENV, SCIM, T0, type CallOptions, type CallResult, type Identity } from '../helpers/harness-core.ts';
/** The origin requests are sent to: loopback, so signed URIs are minted without REGATE_PUBLIC_ORIGINS. */
export const ORIGIN = 'http://localhost';

/** The bindings and secrets of the workerd project, with `extra` vars on top. */
export function workerEnv(extra: Record<string, string> = {}): WorkerEnv {
  return { ...(env as unknown as WorkerEnv), ...extra };
}

/** One request through a Worker's fetch with its own ExecutionContext; the body is read before waitUntil is awaited. */
export async function fetchWorker(
  worker: ReturnType<typeof createWorker>,
  wenv: WorkerEnv,
  path: string,
  init: RequestInit = {},
): Promise<{ res: Response; body: Uint8Array }> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(path.startsWith('http') ? path : `${ORIGIN}${path}`, init), wenv, ctx);
  const body = new Uint8Array(await res.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return { res, body };
}

export async function makeHarness(opts: { env?: Record<string, string> } = {}) {
  const clock = manualClock(T0);
  const { logger, logLines } = recordingLogger();
  const wenv = workerEnv(opts.env ?? DEFAULT_TEST_ENV);
  // No delivery pass after writes: harness.ts on Node has no webhook dispatcher either; tests call deliverDue.
  const worker = createWorker({ clock, logger, webhooksAfterWrites: false });
  const { deps } = await worker.instance(wenv);
  const adminToken = wenv.REGATE_ADMIN_TOKEN as string;

  /** `app.request` of harness.ts, through the Worker's fetch (the body already read and re-wrapped). */
  const app = {
    async request(path: string, init: RequestInit = {}): Promise<Response> {
      const { res, body } = await fetchWorker(worker, wenv, path, init);
      const empty = res.status === 204 || res.status === 304 || init.method === 'HEAD';
      return new Response(empty ? null : (body as Uint8Array<ArrayBuffer>), { status: res.status, headers: res.headers });
    },
  };

  const client = apiClient(async (path, url, { method, headers, body }) => {
    // The path as given (not url.pathname) plus the query, so path variants reach the runtime as written.
    const { res, body: bytes } = await fetchWorker(worker, wenv, `${path}${url.search}`, { method, headers, ...(body === undefined ? {} : { body }) });
    return { status: res.status, text: new TextDecoder().decode(bytes), headers: res.headers };
  }, adminToken);

  return { app, deps, db: deps.db, clock, logLines, adminToken, worker, env: wenv, ...client };
}

export type Harness = Awaited<ReturnType<typeof makeHarness>>;
