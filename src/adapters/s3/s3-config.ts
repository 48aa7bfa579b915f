/**
 * @module s3-config
 * The Node S3 client: the shared settings (s3-client-config.ts, read from REGATE_S3_* and AWS_* by
 * `parseS3Config`, re-exported here for Node callers) with keep-alive socket agents and bounded timeouts. The
 * Worker builds its own client (runtime/worker-s3.ts) and never imports this file, whose Node agents
 * (node:http, node:https, node:net) would otherwise be bundled into it.
 */
import { Agent as HttpsAgent } from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import { s3ClientBase, type S3StoreConfig } from './s3-client-config.ts';
import { reusedReadAgent } from './reused-read-agent.ts';

export { parseS3Config, type S3StoreConfig } from './s3-client-config.ts';

/** The SDK client for `cfg`. `maxSockets` bounds concurrent connections to the store. */
export function makeS3Client(cfg: S3StoreConfig, maxSockets = 256): S3Client {
  return new S3Client({
    ...s3ClientBase(cfg),
    requestHandler: {
      // Keep-alive: a download is one GET, so a fresh TCP (and TLS) handshake per request would dominate small reads.
      // Plain HTTP: sockets read into one reused buffer, which spares a full GC every ~30 MB of a large download.
      httpAgent: reusedReadAgent({ keepAlive: true, maxSockets }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
      connectionTimeout: cfg.connectTimeoutMs,
      // Until the response starts. Without throwOnRequestTimeout the SDK only logs a warning and waits forever.
      requestTimeout: cfg.requestTimeoutMs,
      throwOnRequestTimeout: true,
      // Socket inactivity, also while a response body streams: a store that stalls mid-download errors the body.
      socketTimeout: cfg.requestTimeoutMs,
    },
  });
}
