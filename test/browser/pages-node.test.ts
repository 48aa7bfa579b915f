/**
 * The pages in chromium against the Node entry (`node src/runtime/node.ts`, a real process on a loopback
 * port, fresh data directory). This run also writes the README's screenshots into docs/screenshots/.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { startNode, exited } from '../helpers/node-process.ts';
import { browserScenario } from './scenario.ts';

const ADMIN = 'dapi-browser-test-admin-token-0001';

browserScenario('Node', async () => {
  const running: ChildProcess[] = [];
  const dataDir = await mkdtemp(join(tmpdir(), 'regate-pages-'));
  const { url } = await startNode({ REGATE_DATA_DIR: dataDir, REGATE_ADMIN_TOKEN: ADMIN, REGATE_EXTERNAL_SOURCE_PREFIXES: 's3://' }, running);
  return {
    url,
    adminToken: ADMIN,
    async stop() {
      for (const p of running) {
        p.kill('SIGTERM');
        await exited(p);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}, { screenshots: fileURLToPath(new URL('../../docs/screenshots', import.meta.url)) });
