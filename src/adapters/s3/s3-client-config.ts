/**
 * @module s3-client-config
 * The S3 client settings that do not depend on the runtime: region, endpoint, path style, credentials, bounded
 * attempts, and checksums only WHEN_REQUIRED (MinIO, R2, Ceph and moto reject or ignore the SDK's newer default
 * CRC32 trailers). Shared by the Node client (s3-config.ts, with keep-alive socket agents) and the Worker's
 * (runtime/worker-s3.ts, on fetch), which differ only in their request handler. No Node imports, so the Worker
 * bundle can take it.
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import type { S3StoreConfig } from './s3-config.ts';

/** Every S3 client's settings for `cfg`, but the request handler (the runtime's own). */
export function s3ClientBase(cfg: S3StoreConfig): S3ClientConfig {
  return {
    region: cfg.region,
    ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
    forcePathStyle: cfg.forcePathStyle,
    ...(cfg.credentials ? { credentials: cfg.credentials } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: cfg.maxAttempts,
  };
}
