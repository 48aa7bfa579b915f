/**
 * @module worker-migrations
 * The SQL migrations, bundled into the Worker: a Worker has no file system to read migrations/ from. Each file
 * is imported as text (wrangler.toml `[[rules]] type = "Text"` for `**\/*.sql`; the workerd vitest project
 * loads them the same way through a small plugin in vitest.config.ts).
 *
 * A new file in migrations/ must be added here too: test/unit/worker-migrations.test.ts compares this list with
 * the directory, byte for byte.
 */
import type { Migration } from '../core/migrate.ts';
import m0001 from '../../migrations/0001_init.sql';
import m0002 from '../../migrations/0002_artifacts_audit.sql';
import m0003 from '../../migrations/0003_signing_keys.sql';
import m0004 from '../../migrations/0004_artifact_listing.sql';
import m0005 from '../../migrations/0005_version_order_description.sql';
import m0006 from '../../migrations/0006_webhooks.sql';
import m0007 from '../../migrations/0007_artifact_sha256.sql';
import m0008 from '../../migrations/0008_model_has_description.sql';
import m0009 from '../../migrations/0009_data_epoch.sql';

export const WORKER_MIGRATIONS: readonly Migration[] = [
  { name: '0001_init.sql', sql: m0001 },
  { name: '0002_artifacts_audit.sql', sql: m0002 },
  { name: '0003_signing_keys.sql', sql: m0003 },
  { name: '0004_artifact_listing.sql', sql: m0004 },
  { name: '0005_version_order_description.sql', sql: m0005 },
  { name: '0006_webhooks.sql', sql: m0006 },
  { name: '0007_artifact_sha256.sql', sql: m0007 },
  { name: '0008_model_has_description.sql', sql: m0008 },
  { name: '0009_data_epoch.sql', sql: m0009 },
];
