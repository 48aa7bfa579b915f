/**
 * @module s3-multipart-sweep
 * Aborts the multipart uploads a crash left behind in the bucket. regate aborts its own failed uploads
 * (s3-upload.ts), but a process killed mid-upload (`kill -9`, a lost machine) leaves an upload whose parts S3
 * keeps, invisible and billed, forever unless a lifecycle rule or someone aborts it. This is the S3 side of
 * the Node entry's temp-file sweep (node-sweeps.ts), with the same meaning of "stale": untouched for the age,
 * where touched is the upload's start or its newest part (an upload in flight sends a part every 8 MiB).
 * Uploads this process has in flight are never aborted, whatever their age; other replicas' uploads are
 * recognised by their parts' times only, so the age must exceed the time one part takes to arrive.
 */
import {
  AbortMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  type ListMultipartUploadsCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { toStorageError } from './s3-errors.ts';

export interface MultipartSweepTarget {
  client: S3Client;
  bucket: string;
  /** Upload ids this process is writing now. */
  inFlight: ReadonlySet<string>;
}

/** When the upload last showed activity: its newest part, else its start. */
async function lastActivity(t: MultipartSweepTarget, key: string, uploadId: string, initiated: number): Promise<number> {
  let latest = initiated;
  let marker: string | undefined;
  for (;;) {
    const r = await t.client.send(
      new ListPartsCommand({ Bucket: t.bucket, Key: key, UploadId: uploadId, ...(marker !== undefined ? { PartNumberMarker: marker } : {}) }),
    );
    for (const p of r.Parts ?? []) latest = Math.max(latest, p.LastModified?.getTime() ?? 0);
    if (!r.IsTruncated || r.NextPartNumberMarker === undefined) return latest;
    marker = String(r.NextPartNumberMarker);
  }
}

/**
 * Aborts every upload in the bucket untouched for `olderThanMs` at `nowMs` and not in flight here; returns
 * how many. An upload that vanished meanwhile (completed or aborted elsewhere) is skipped.
 * @example await abortStaleUploads({ client, bucket, inFlight }, 3_600_000, Date.now()) // → 2
 */
export async function abortStaleUploads(t: MultipartSweepTarget, olderThanMs: number, nowMs: number): Promise<number> {
  let aborted = 0;
  let keyMarker: string | undefined;
  let idMarker: string | undefined;
  try {
    for (;;) {
      const page: ListMultipartUploadsCommandOutput = await t.client.send(
        new ListMultipartUploadsCommand({
          Bucket: t.bucket,
          ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
          ...(idMarker !== undefined ? { UploadIdMarker: idMarker } : {}),
        }),
      );
      for (const u of page.Uploads ?? []) {
        const key = u.Key!;
        const id = u.UploadId!;
        const initiated = u.Initiated?.getTime() ?? 0;
        // Cheap test first: a recent start is recent activity, no need to list its parts.
        if (t.inFlight.has(id) || nowMs - initiated < olderThanMs) continue;
        try {
          if (nowMs - (await lastActivity(t, key, id, initiated)) < olderThanMs) continue;
          await t.client.send(new AbortMultipartUploadCommand({ Bucket: t.bucket, Key: key, UploadId: id }));
          aborted++;
        } catch (err) {
          if (toStorageError(err, `ABORT UPLOAD ${key}`).kind !== 'not_found') throw err;
        }
      }
      if (!page.IsTruncated) return aborted;
      keyMarker = page.NextKeyMarker;
      idMarker = page.NextUploadIdMarker;
      if (keyMarker === undefined && idMarker === undefined) return aborted;
    }
  } catch (err) {
    throw toStorageError(err, 'sweep of stale multipart uploads');
  }
}
