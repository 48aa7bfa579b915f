/**
 * @module pipelined-upload
 * The upload of a body of unknown length without holding it in memory, as S3 and R2 both take it: the first
 * part-size bytes are buffered; a body that ends within them is one whole put, a longer one a multipart upload
 * of equal parts (all but the last of one size, at most 10 000), one part uploading while the next is read. On
 * any failure the body is cancelled and an open upload aborted, so a failed put leaves no object and no parts.
 * Shared by s3-upload.ts and r2-upload.ts, which differ only in the calls (a `PartSink`) and in how they name a
 * failure; the order of reads, uploads and clean-up is this file's alone.
 */
import { StorageError } from '../../core/storage/object-store.ts';
import { MAX_PARTS } from './multipart-plan.ts';
import { PartReader } from './part-reader.ts';

/** Where a failure happened: reading the caller's body, or talking to the store. */
export type UploadStage = 'body' | 'store';

/** One store's calls for an upload of one key. `P` is what an uploaded part reports, `R` what a finished write does. */
export interface PartSink<P, R> {
  /** A body that fits one part: one plain put. */
  putWhole(bytes: Uint8Array): Promise<R>;
  /** Opens the multipart upload. */
  create(): Promise<void>;
  uploadPart(n: number, bytes: Uint8Array): Promise<P>;
  complete(parts: P[]): Promise<R>;
  /** Aborts the open upload, ignoring failures (without the caller's signal: it may be why we are here). */
  abort(): Promise<void>;
  /** The StorageError to throw for `err`, which happened at `stage`. */
  failure(err: unknown, stage: UploadStage): StorageError;
}

export interface PipelineOptions {
  partSize: number;
  /** The declared length: a body of any other length fails `invalid`. */
  contentLength?: number;
  signal?: AbortSignal;
}

/** Uploads `body` through `sink`; resolves with what the write reported. Throws `sink.failure`'s error, leaving nothing behind. */
export async function pipelinedUpload<P, R>(body: ReadableStream<Uint8Array>, o: PipelineOptions, sink: PartSink<P, R>): Promise<R> {
  const reader = body.getReader();
  const parts = new PartReader(reader, o.partSize, o.contentLength, o.signal);
  let open = false;
  let stage: UploadStage = 'body';
  try {
    const first = (await parts.next()) ?? new Uint8Array(0);
    stage = 'store';
    if (parts.ended) return await sink.putWhole(first);
    await sink.create();
    open = true;
    const done: P[] = [];
    let part: Uint8Array | null = first;
    for (let n = 1; part; n++) {
      if (n > MAX_PARTS) throw new StorageError('full', `The body needs more than ${MAX_PARTS} parts of ${o.partSize} bytes.`);
      stage = 'store';
      // Read the next part while this one uploads; a read error still waits for the upload to settle.
      const [up, next]: [PromiseSettledResult<P>, PromiseSettledResult<Uint8Array | null>] = await Promise.allSettled([sink.uploadPart(n, part), parts.next()]);
      if (up.status === 'rejected') throw up.reason;
      stage = 'body';
      if (next.status === 'rejected') throw next.reason;
      done.push(up.value);
      part = next.value;
    }
    stage = 'store';
    const written = await sink.complete(done);
    open = false;
    return written;
  } catch (err) {
    await reader.cancel(err).catch(() => {});
    if (open) await sink.abort();
    throw sink.failure(err, stage);
  }
}
