/**
 * The pages in chromium against the Worker (`wrangler dev --local`: workerd with local D1 and R2), the same
 * steps as on Node (scenario.ts): the pages are portable Hono JSX and run unchanged on both.
 */
import { startWorkerServer } from '../helpers/worker-server.ts';
import { browserScenario } from './scenario.ts';

browserScenario('the Worker', () => startWorkerServer({ vars: { REGATE_EXTERNAL_SOURCE_PREFIXES: 's3://' } }));
