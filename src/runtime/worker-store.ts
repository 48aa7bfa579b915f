/**
 * @module worker-store
 * The Worker's artifact store: S3 when `REGATE_S3_BUCKET` is set (any S3-compatible endpoint, R2's S3 API
 * included), else the `ARTIFACTS` R2 binding through the R2 adapter. Neither configured: the Worker does not
 * start (503 naming both), rather than keep artifacts in an isolate's memory.
 */
import { ConfigError } from '../core/config.ts';
import type { ObjectStore } from '../core/storage/object-store.ts';
import { R2ObjectStore } from '../adapters/r2/r2-object-store.ts';
import type { R2BucketLike } from '../adapters/r2/r2-types.ts';
import { parseS3Config } from '../adapters/s3/s3-client-config.ts';
import { S3ObjectStore } from '../adapters/s3/s3-object-store.ts';
import { makeWorkerS3Client } from './worker-s3.ts';
import { withNativeBodies } from './worker-native-bodies.ts';
import type { WorkerEnv } from './worker-env.ts';

/** @example const store = workerObjectStore(env, envStrings(env)) */
export function workerObjectStore(env: WorkerEnv, strings: Record<string, string>): ObjectStore {
  const s3 = parseS3Config(strings);
  if (s3) return new S3ObjectStore({ client: makeWorkerS3Client(s3), bucket: s3.bucket });
  // R2's bodies handed over untouched, so downloads pipe natively (worker-native-bodies.ts).
  if (env.ARTIFACTS) return withNativeBodies(new R2ObjectStore(env.ARTIFACTS as R2BucketLike));
  throw new ConfigError('No artifact store: bind an R2 bucket as ARTIFACTS (wrangler.toml [[r2_buckets]]) or set REGATE_S3_BUCKET.');
}
