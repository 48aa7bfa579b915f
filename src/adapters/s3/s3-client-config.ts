/**
 * @module s3-client-config
 * The S3 settings that do not depend on the runtime: read from the environment (REGATE_S3_*, and the AWS SDK's
 * own AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN) by `parseS3Config`, and turned into every
 * S3 client's settings by `s3ClientBase`: region, endpoint, path style, credentials, bounded attempts, and
 * checksums only WHEN_REQUIRED (MinIO, R2, Ceph and moto reject or ignore the SDK's newer default CRC32
 * trailers). Shared by the Node client (s3-config.ts, with keep-alive socket agents) and the Worker's
 * (runtime/worker-s3.ts, on fetch), which differ only in their request handler. No Node imports, so the Worker
 * bundle can take it.
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { ConfigError } from '../../core/config.ts';

export interface S3StoreConfig {
  bucket: string;
  /** e.g. `https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000`; unset: the SDK's AWS endpoint. */
  endpoint?: string;
  region: string;
  /** `https://host/bucket/key` instead of `https://bucket.host/key` (MinIO, moto, most self-hosted servers). */
  forcePathStyle: boolean;
  /** Unset: the SDK's default chain (env, shared files, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Milliseconds to connect; to the response's start, and of socket inactivity (also mid-body), before `timeout`. */
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** Attempts per request including the first (the SDK retries throttling and 5xx with backoff). */
  maxAttempts: number;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function bool(name: string, raw: string | undefined, dflt: boolean): boolean {
  if (raw === undefined || raw === '') return dflt;
  if (/^(1|true|yes)$/i.test(raw)) return true;
  if (/^(0|false|no)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got ${raw}`);
}

function int(name: string, raw: string | undefined, dflt: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got ${raw}`);
  return n;
}

/**
 * The S3 settings, or null when REGATE_S3_BUCKET is unset (no S3 store configured).
 * @example parseS3Config(process.env) // { bucket: 'models', region: 'us-east-1', … }
 */
export function parseS3Config(env: Record<string, string | undefined>): S3StoreConfig | null {
  const bucket = env.REGATE_S3_BUCKET;
  if (bucket === undefined || bucket === '') return null;
  if (!BUCKET.test(bucket)) throw new ConfigError(`REGATE_S3_BUCKET: not an S3 bucket name: ${bucket}`);
  const endpoint = env.REGATE_S3_ENDPOINT || undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+\/?$/i.test(endpoint)) {
    throw new ConfigError(`REGATE_S3_ENDPOINT must be an origin like https://host:port, got ${endpoint}`);
  }
  const region = env.REGATE_S3_REGION || env.AWS_REGION || 'us-east-1';
  const id = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  if (Boolean(id) !== Boolean(secret)) throw new ConfigError('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together');
  return {
    bucket,
    ...(endpoint ? { endpoint } : {}),
    region,
    // A custom endpoint is usually a self-hosted server without virtual-host DNS: path style by default there.
    forcePathStyle: bool('REGATE_S3_FORCE_PATH_STYLE', env.REGATE_S3_FORCE_PATH_STYLE, endpoint !== undefined),
    ...(id && secret ? { credentials: { accessKeyId: id, secretAccessKey: secret, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) } } : {}),
    connectTimeoutMs: int('REGATE_S3_CONNECT_TIMEOUT_MS', env.REGATE_S3_CONNECT_TIMEOUT_MS, 5_000, 100, 600_000),
    requestTimeoutMs: int('REGATE_S3_REQUEST_TIMEOUT_MS', env.REGATE_S3_REQUEST_TIMEOUT_MS, 30_000, 100, 3_600_000),
    maxAttempts: int('REGATE_S3_MAX_ATTEMPTS', env.REGATE_S3_MAX_ATTEMPTS, 3, 1, 10),
  };
}

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
