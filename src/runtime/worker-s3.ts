/**
 * @module worker-s3
 * The S3 client for a Worker: the same settings as the Node one (s3-client-config.ts: checksums only
 * WHEN_REQUIRED, which S3-compatible servers need, bounded attempts), without the Node socket agents: in workerd the SDK's
 * browser runtime config is bundled and it sends with `fetch` (FetchHttpHandler), whose pooling is workerd's.
 * wrangler.toml aliases `@aws-sdk/xml-builder` to its non-browser build, since workerd has no DOMParser.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { s3ClientBase, type S3StoreConfig } from '../adapters/s3/s3-client-config.ts';

/** @example new S3ObjectStore({ client: makeWorkerS3Client(parseS3Config(env)!), bucket }) */
export function makeWorkerS3Client(cfg: S3StoreConfig): S3Client {
  return new S3Client({
    ...s3ClientBase(cfg),
    // FetchHttpHandler's options: until the response starts.
    requestHandler: { requestTimeout: cfg.requestTimeoutMs },
  });
}
