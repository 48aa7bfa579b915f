/**
 * @module take-once
 * The take-once rule of a GetResult (core/storage/object-store.ts) for reads that offer their bytes in several
 * forms (web `body`, Node stream, byte source): the first form taken wins, a later one gets `undefined` (`body`,
 * a property, throws instead), and `body` is the same web stream on every access. Shared by the fs and S3
 * stores, so both keep the rule, and its error message, the same.
 */
import { Readable } from 'node:stream';

export type ReadForm = 'body' | 'nodeStream' | 'byteSource';

export class TakeOnce {
  #taken: ReadForm | 'released' | undefined;
  #body: ReadableStream<Uint8Array> | undefined;

  /** The web body, made on the first access: `open()`'s web stream as is, or its Node stream behind `Readable.toWeb`. */
  body(open: () => Readable | ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    if (this.#body) return this.#body;
    if (this.#taken) throw new Error(`The bytes of this read were already taken (${this.#taken}).`);
    this.#taken = 'body';
    const s = open();
    return (this.#body = s instanceof Readable ? (Readable.toWeb(s) as unknown as ReadableStream<Uint8Array>) : s);
  }

  /** `make()`'s form of the bytes if no form was taken yet, else undefined. */
  take<T>(form: Exclude<ReadForm, 'body'>, make: () => T): T | undefined {
    if (this.#taken) return undefined;
    this.#taken = form;
    return make();
  }

  /** Ends taking: returns the form taken before (undefined: none), or 'released' on a second call. */
  release(): ReadForm | 'released' | undefined {
    const was = this.#taken;
    this.#taken = 'released';
    return was;
  }

  /** The web body, if it was made. */
  get webBody(): ReadableStream<Uint8Array> | undefined {
    return this.#body;
  }
}
