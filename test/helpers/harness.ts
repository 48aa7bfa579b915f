/**
 * @module harness
 * An in-process regate on the real SQLite adapter (in memory) with a manual clock, driven through
 * `app.request()`. Identities are made through the SCIM and token HTTP APIs, as a user would (harness-core.ts).
 */
import { createApp } from '../../src/http/app.ts';
import { createNodeDeps } from '../../src/runtime/node-deps.ts';
import { manualClock } from '../../src/core/clock.ts';
import { apiClient, DEFAULT_TEST_ENV, recordingLogger, T0 } from './harness-core.ts';

export { DEFAULT_TEST_ENV, SCIM, T0, type CallOptions, type CallResult, type Identity } from './harness-core.ts';

export async function makeHarness(opts: { env?: Record<string, string> } = {}) {
  const clock = manualClock(T0);
  const { logger, logLines } = recordingLogger();
  const { deps, boot, db } = await createNodeDeps({ dataDir: ':memory:', env: opts.env ?? DEFAULT_TEST_ENV, clock, logger });
  const app = createApp(deps);
  const adminToken = boot.firstAdmin!.token;
  const client = apiClient(async (_path, url, init) => {
    const res = await app.request(url.toString().replace('http://regate.test', ''), init);
    return { status: res.status, text: await res.text(), headers: res.headers };
  }, adminToken);
  return { app, deps, db, clock, logLines, adminToken, ...client };
}

export type Harness = Awaited<ReturnType<typeof makeHarness>>;
