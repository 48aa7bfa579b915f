/**
 * @module r2-types
 * The part of the Workers R2 binding (`R2Bucket`) the R2 object store uses, declared here with the DOM's stream
 * types instead of importing @cloudflare/workers-types: those declare their own globals (ReadableStream, Headers,
 * …), which would clash with the DOM lib the rest of the code compiles against. The real binding (and miniflare's
 * Node proxy of it) satisfies this interface structurally; `new R2ObjectStore(env.ARTIFACTS)` needs no cast when
 * env is typed with these names, and at most `as unknown as R2BucketLike` when typed with workers-types.
 */

/** An R2 range: an offset and a length (R2 clamps the length to the object; an offset past the end is an error). */
export interface R2RangeLike {
  offset: number;
  length?: number;
}

/** R2's conditional: ETags **unquoted** (R2 refuses a quoted one). */
export interface R2ConditionalLike {
  etagMatches?: string;
}

/** Metadata of an object (`head`, `list`, `put`, or a `get` whose condition failed: then there is no `body`). */
export interface R2ObjectLike {
  readonly key: string;
  readonly size: number;
  /** Unquoted. */
  readonly etag: string;
  readonly uploaded: Date;
  /** The range the body holds, when one was asked for. */
  readonly range?: R2RangeLike | { suffix: number };
}

export interface R2ObjectBodyLike extends R2ObjectLike {
  readonly body: ReadableStream<Uint8Array>;
}

export interface R2UploadedPartLike {
  partNumber: number;
  etag: string;
}

export interface R2MultipartUploadLike {
  readonly key: string;
  readonly uploadId: string;
  uploadPart(partNumber: number, value: ReadableStream<Uint8Array> | ArrayBuffer | ArrayBufferView): Promise<R2UploadedPartLike>;
  abort(): Promise<void>;
  complete(parts: R2UploadedPartLike[]): Promise<R2ObjectLike>;
}

export interface R2ListResultLike {
  objects: R2ObjectLike[];
  delimitedPrefixes: string[];
  truncated: boolean;
  cursor?: string;
}

/** The binding: `env.ARTIFACTS` in the Worker, `await mf.getR2Bucket('ARTIFACTS')` from Node tests. */
export interface R2BucketLike {
  head(key: string): Promise<R2ObjectLike | null>;
  get(key: string, options?: { range?: R2RangeLike; onlyIf?: R2ConditionalLike }): Promise<R2ObjectBodyLike | R2ObjectLike | null>;
  put(key: string, value: ReadableStream<Uint8Array> | ArrayBuffer | ArrayBufferView | null): Promise<R2ObjectLike | null>;
  createMultipartUpload(key: string): Promise<R2MultipartUploadLike>;
  delete(keys: string | string[]): Promise<void>;
  list(options?: { prefix?: string; delimiter?: string; cursor?: string; limit?: number }): Promise<R2ListResultLike>;
}
