#!/usr/bin/env node
/**
 * @module regate-cli
 * The `regate` command (package.json `bin`): `regate pull models:/NAME/VERSION DIR [--concurrency N]`.
 * Host and token from the environment as the Databricks clients read them: `DATABRICKS_HOST` and
 * `DATABRICKS_TOKEN` (`REGATE_HOST` / `REGATE_TOKEN` take precedence). Exit codes: 0 every file verified,
 * 1 some file failed (each named on stderr) or the manifest could not be read, 2 usage.
 */
import { parseArgs } from 'node:util';
import { pull } from './pull.ts';
import { PullError } from './manifest-client.ts';

const USAGE = `usage: regate pull models:/NAME/VERSION DIR [--concurrency N] [--require-digest]

  Downloads every file of the model version into DIR, in parallel, resuming partial files and verifying
  each file's SHA-256. Environment: DATABRICKS_HOST (or REGATE_HOST), DATABRICKS_TOKEN (or REGATE_TOKEN).`;

export async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { concurrency: { type: 'string' }, 'require-digest': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const [command, modelUri, dir] = parsed.positionals;
  if (parsed.values.help || command !== 'pull' || !modelUri || !dir || parsed.positionals.length !== 3) {
    console.error(USAGE);
    return 2;
  }
  const concurrency = parsed.values.concurrency === undefined ? 16 : Number(parsed.values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
    console.error(`--concurrency must be 1-256.\n${USAGE}`);
    return 2;
  }
  const host = env.REGATE_HOST ?? env.DATABRICKS_HOST;
  const token = env.REGATE_TOKEN ?? env.DATABRICKS_TOKEN;
  if (!host || !token) {
    console.error(`Set DATABRICKS_HOST (with its http:// or https:// scheme) and DATABRICKS_TOKEN.\n${USAGE}`);
    return 2;
  }
  const started = performance.now();
  try {
    const r = await pull({ host, token, modelUri, dir, concurrency, log: (l) => console.error(l) });
    for (const p of r.unverified) console.error(`warning: ${p} has no recorded SHA-256 (registered before digests); checked by size only`);
    const secs = ((performance.now() - started) / 1000).toFixed(2);
    console.log(
      `${r.name} version ${r.version}: ${r.files - r.failed.length}/${r.files} files ok ` +
        `(${r.outcomes.downloaded} downloaded, ${r.outcomes.resumed} resumed, ${r.outcomes.present} already present), ` +
        `${r.bytes} bytes in ${secs} s, manifest read ${r.manifestFetches}x`,
    );
    if (r.failed.length > 0) {
      console.error(`${r.failed.length} file(s) failed:`);
      for (const f of r.failed) console.error(`  ${f.path}: ${f.error}`);
      return 1;
    }
    if (parsed.values['require-digest'] && r.unverified.length > 0) {
      console.error(`--require-digest: ${r.unverified.length} file(s) have no SHA-256.`);
      return 1;
    }
    return 0;
  } catch (e) {
    console.error(e instanceof PullError ? e.message : (e as Error).stack ?? String(e));
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2), process.env);
