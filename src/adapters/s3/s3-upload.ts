/**
 * @module s3-upload
 * Writes a web stream of unknown length to S3 without holding it in memory: the first part-size bytes are
 * buffered; a body that ends within them is one PutObject, a longer one a multipart upload of fixed-size parts
 * (one part uploading while the next is read; shared/pipelined-upload.ts, as for R2). S3 makes either visible atomically on success; on any failure
 * or abort the multipart upload is aborted, so a failed put leaves no object and no billed parts.
 * (`@aws-sdk/lib-storage` does the same with more machinery; this is the small subset the store needs.)
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { StorageError } from '../../core/storage/object-store.ts';
import { pipelinedUpload } from '../shared/pipelined-upload.ts';
import { toStorageError } from './s3-errors.ts';

export interface UploadTarget {
  client: S3Client;
  bucket: string;
  key: string;
  partSize: number;
  contentLength?: number;
  signal?: AbortSignal;
  /** Holds the upload id while the multipart upload is open, so the stale-upload sweep leaves it alone. */
  inFlight?: Set<string>;
}

/** Uploads `body` to `t.key`; resolves once the object is visible. Throws StorageError, leaving nothing behind. */
export async function uploadStream(body: ReadableStream<Uint8Array>, t: UploadTarget): Promise<void> {
  const sendOpts = t.signal ? { abortSignal: t.signal } : {};
  let uploadId: string | undefined;
  await pipelinedUpload<{ ETag: string; PartNumber: number }, void>(body, t, {
    putWhole: async (bytes) => void (await t.client.send(new PutObjectCommand({ Bucket: t.bucket, Key: t.key, Body: bytes, ContentLength: bytes.byteLength }), sendOpts)),
    create: async () => {
      uploadId = (await t.client.send(new CreateMultipartUploadCommand({ Bucket: t.bucket, Key: t.key }), sendOpts)).UploadId!;
      t.inFlight?.add(uploadId);
    },
    uploadPart: async (n, bytes) => {
      const r = await t.client.send(new UploadPartCommand({ Bucket: t.bucket, Key: t.key, UploadId: uploadId, PartNumber: n, Body: bytes, ContentLength: bytes.byteLength }), sendOpts);
      return { ETag: r.ETag!, PartNumber: n };
    },
    complete: async (parts) => {
      await t.client.send(new CompleteMultipartUploadCommand({ Bucket: t.bucket, Key: t.key, UploadId: uploadId, MultipartUpload: { Parts: parts } }), sendOpts);
      t.inFlight?.delete(uploadId!);
    },
    abort: async () => {
      // Without the caller's signal: it may be the reason we are here, and the parts must not stay billed.
      await t.client.send(new AbortMultipartUploadCommand({ Bucket: t.bucket, Key: t.key, UploadId: uploadId })).catch(() => {});
      t.inFlight?.delete(uploadId!);
    },
    failure: (err) => {
      if (err instanceof StorageError) return err;
      // A failure of the body stream itself (the client went away) is not a store failure.
      const fromStore = typeof err === 'object' && err !== null && '$metadata' in err;
      return fromStore || (err as Error)?.name === 'TimeoutError' ? toStorageError(err, `PUT ${t.key}`) : new StorageError('internal', `Upload of ${t.key} failed.`, { cause: err });
    },
  });
}
