/**
 * @module node
 * The Node entry: `npm start`. Serves on 127.0.0.1 by default; honours PORT, HOST, REGATE_DATA_DIR,
 * REGATE_ADMIN_TOKEN (the first admin's token when the data directory is new) and the connection limits of
 * server-limits.ts (timeouts and a connection cap, parsed before anything else starts).
 */
import { resolve } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { createApp } from '../http/app.ts';
import { createNodeDeps } from './node-deps.ts';
import { parseServerLimits } from './server-limits.ts';
import { serveWithLimits } from './node-server.ts';
import { parseConfig } from '../core/config.ts';
import { checkPublicOriginSetting } from '../core/public-origin.ts';
import { startNodeWebhooks } from './node-webhooks.ts';
import { parseWebhookSettings } from '../core/webhooks/settings.ts';

async function main(): Promise<void> {
  const env = process.env;
  const port = env.PORT === undefined ? 8080 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be an integer 0-65535, got ${env.PORT}`);
  const host = env.HOST ?? '127.0.0.1';
  const dataDir = resolve(env.REGATE_DATA_DIR ?? '.regate');
  const limits = parseServerLimits(env);
  parseWebhookSettings(env); // a bad REGATE_WEBHOOK_* setting stops start-up before anything is created
  // Beyond loopback, the Host header is anyone's to choose: refuse to start rather than refuse every signed URI.
  const originProblem = checkPublicOriginSetting(host, parseConfig(env));
  if (originProblem !== undefined) throw new Error(originProblem);
  const { deps, boot } = await createNodeDeps({ dataDir, env });
  if (boot.firstAdmin) {
    const fromEnv = env.REGATE_ADMIN_TOKEN !== undefined;
    process.stdout.write(
      `First start: created workspace admin '${boot.firstAdmin.userName}' in ${dataDir}.\n` +
        (fromEnv
          ? 'Its token is the one you gave in REGATE_ADMIN_TOKEN.\n'
          : `Its token, shown only this once (keep it): ${boot.firstAdmin.token}\n`),
    );
  }
  // Registry webhooks: delivered from the outbox on a timer, sent through the DNS-checked Node transport.
  const webhooks = startNodeWebhooks(deps, env);
  deps.webhooks = webhooks.runtime;
  const app = createApp(deps, {
    rawTarget: (c) => (c.env as { incoming?: IncomingMessage }).incoming?.url,
  });
  const server = serveWithLimits({ fetch: app.fetch, port, hostname: host, limits, logger: deps.logger }, (info) => {
    process.stdout.write(`regate listening on http://${host}:${info.port}\n`);
  });
  // Graceful stop: write the audit rows still waiting in the group commit, then close.
  const stop = () => {
    webhooks.stop();
    void deps.audit.flush().finally(() => server.close(() => process.exit(0)));
    // Keep-alive connections may hold `close` open; the audit is written, so do not wait on them for long.
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`regate failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
