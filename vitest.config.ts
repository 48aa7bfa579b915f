import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { cloudflareTest } from '@cloudflare/vitest-plugin';

/**
 * Two projects, one behaviour: `node` runs the suites on Node (node:sqlite, files, real sockets); `workerd` runs
 * test/workerd/** inside workerd (@cloudflare/vitest-plugin) with wrangler.toml's bindings (D1 `DB`, R2
 * `ARTIFACTS`), against the Worker entry. The secrets a deployed Worker gets from `wrangler secret put` are
 * fixed test values here. Node suites written against test/helpers/harness.ts run in workerd unchanged: the
 * project aliases that harness to test/workerd/worker-harness.ts (the same interface over the Worker's fetch).
 */
export const WORKERD_TEST_SECRETS = {
  REGATE_KEY_ENCRYPTION_KEY: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8',
  REGATE_ADMIN_TOKEN: 'dapi-workerd-test-admin-token',
};

/** Node suites that also run against the Worker, through the aliased harness. */
const WORKERD_SHARED_SUITES = ['test/http/permission-matrix.test.ts', 'test/http/artifact-matrix.test.ts', 'test/http/statement-budget.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: { name: 'node', include: ['test/**/*.test.ts'], exclude: ['test/workerd/**', '**/node_modules/**'] },
      },
      {
        extends: true,
        plugins: [
          cloudflareTest({
            main: './src/runtime/worker.ts',
            wrangler: { configPath: './wrangler.toml' },
            miniflare: { bindings: WORKERD_TEST_SECRETS },
          }),
        ],
        resolve: {
          alias: [{ find: /^\.\.\/helpers\/harness\.ts$/, replacement: fileURLToPath(new URL('./test/workerd/worker-harness.ts', import.meta.url)) }],
        },
        test: {
          name: 'workerd',
          include: ['test/workerd/**/*.test.ts', ...WORKERD_SHARED_SUITES],
        },
      },
    ],
  },
});
