/**
 * The pieces the S3 and R2 stores share (multipart-plan.ts, tree-guard.ts, listing.ts's listLimit), on their
 * own: part boundaries of a part-wise copy (equal parts, raised to fit 10 000), the part-size floor, the list
 * page size, and the key-tree checks asked of a store's probes. The stores' contract tests cover them against
 * real servers; these pin the edges a server run would take gigabytes to reach.
 */
import { describe, expect, it } from 'vitest';
import { checkPartSize, copyParts, MAX_PARTS, MIN_PART_SIZE } from '../../src/adapters/shared/multipart-plan.ts';
import { listLimit, MAX_LIST_LIMIT } from '../../src/core/storage/listing.ts';
import type { ObjectMeta } from '../../src/core/storage/object-store.ts';
import { checkBeforeCopy, checkBeforePut, type TreeProbe } from '../../src/core/storage/tree-guard.ts';
import { pipelinedUpload, type PartSink } from '../../src/adapters/shared/pipelined-upload.ts';
import { StorageError } from '../../src/core/storage/object-store.ts';

describe('multipart plan', () => {
  it('cuts a copy into equal parts, the last shorter, covering every byte once', () => {
    expect(copyParts(10, 4)).toEqual([
      { n: 1, offset: 0, length: 4 },
      { n: 2, offset: 4, length: 4 },
      { n: 3, offset: 8, length: 2 },
    ]);
    expect(copyParts(8, 4).map((p) => p.length)).toEqual([4, 4]);
    expect(copyParts(0, 4)).toEqual([]);
  });

  it('raises the part size so an object never needs more than 10 000 parts', () => {
    const size = MAX_PARTS * 4 + 1;
    const parts = copyParts(size, 4);
    expect(parts.length).toBeLessThanOrEqual(MAX_PARTS);
    expect(parts.reduce((n, p) => n + p.length, 0)).toBe(size);
    expect(parts[0]!.length).toBe(5);
  });

  it('refuses a part size under 5 MiB by name', () => {
    expect(checkPartSize('copyPartSize', MIN_PART_SIZE)).toBe(MIN_PART_SIZE);
    expect(() => checkPartSize('copyPartSize', MIN_PART_SIZE - 1)).toThrow(/^copyPartSize must be at least 5242880 bytes\.$/);
    expect(() => checkPartSize('partSize', Number.NaN)).toThrow(RangeError);
  });
});

describe('listLimit', () => {
  it('defaults to the maximum and refuses anything but an integer 1-1000', () => {
    expect(listLimit(undefined)).toBe(MAX_LIST_LIMIT);
    expect(listLimit(1)).toBe(1);
    for (const bad of [0, MAX_LIST_LIMIT + 1, 1.5, Number.NaN]) expect(() => listLimit(bad), String(bad)).toThrow(expect.objectContaining({ kind: 'invalid' }));
  });
});

describe('tree guard', () => {
  const meta = (key: string): ObjectMeta => ({ key, size: 1, etag: '"e"', lastModified: 0 });
  /** A probe over a set of keys that records what it was asked. */
  function probe(keys: string[]): TreeProbe & { asked: string[] } {
    const asked: string[] = [];
    return {
      asked,
      head: async (k) => (asked.push(`head ${k}`), keys.includes(k) ? meta(k) : null),
      anyUnder: async (p) => (asked.push(`list ${p}`), keys.some((k) => k.startsWith(p))),
    };
  }
  const body = () => {
    let cancelled: unknown = 'no';
    return { stream: new ReadableStream<Uint8Array>({ cancel: (r) => void (cancelled = r) }), cancelled: () => cancelled };
  };

  it('a put under an object, or over a directory, is a conflict and cancels the body unread', async () => {
    for (const [keys, key] of [[['a'], 'a/b'], [['a/b/c'], 'a/b']] as const) {
      const b = body();
      await expect(checkBeforePut(key, b.stream, probe([...keys]))).rejects.toMatchObject({ kind: 'conflict' });
      expect(b.cancelled()).toMatchObject({ kind: 'conflict' });
    }
    const ok = body();
    const p = probe(['x/y']);
    await checkBeforePut('a/b', ok.stream, p);
    expect(ok.cancelled()).toBe('no');
    expect(p.asked.sort()).toEqual(['head a', 'list a/b/']);
  });

  it('a bad key is refused before any question, and cancels the body', async () => {
    const b = body();
    const p = probe([]);
    await expect(checkBeforePut('a//b', b.stream, p)).rejects.toMatchObject({ kind: 'invalid' });
    expect(p.asked).toEqual([]);
    expect(b.cancelled()).toMatchObject({ kind: 'invalid' });
  });

  it('a copy needs its source, is done at once onto itself, and checks the destination tree', async () => {
    await expect(checkBeforeCopy('s', 'd', probe([]))).rejects.toMatchObject({ kind: 'not_found' });
    const same = probe(['s']);
    expect(await checkBeforeCopy('s', 's', same)).toEqual({ src: meta('s'), same: true });
    expect(same.asked).toEqual(['head s']);
    expect(await checkBeforeCopy('s', 'd/e', probe(['s']))).toEqual({ src: meta('s'), same: false });
    await expect(checkBeforeCopy('s', 'd/e', probe(['s', 'd']))).rejects.toMatchObject({ kind: 'conflict' });
  });
});

describe('pipelined upload', () => {
  /** A sink that logs its calls; `failPart` makes that part's upload fail. */
  function sink(failPart?: number): PartSink<number, string> & { log: string[] } {
    const log: string[] = [];
    return {
      log,
      putWhole: async (b) => (log.push(`whole ${b.byteLength}`), 'whole'),
      create: async () => void log.push('create'),
      uploadPart: async (n, b) => {
        log.push(`part ${n} ${b.byteLength}`);
        if (n === failPart) throw new Error('store down');
        return n;
      },
      complete: async (parts) => (log.push(`complete ${parts.join(',')}`), 'multi'),
      abort: async () => void log.push('abort'),
      failure: (err, stage) => (err instanceof StorageError ? err : new StorageError('internal', `${stage}: ${(err as Error).message}`)),
    };
  }
  /** `chunks` byte counts, one a pull, then the end or (with `fail`) an error. */
  const source = (chunks: number[], fail?: string) => {
    const left = [...chunks];
    return new ReadableStream<Uint8Array>({
      pull(c) {
        const n = left.shift();
        if (n !== undefined) c.enqueue(new Uint8Array(n));
        else if (fail) c.error(new Error(fail));
        else c.close();
      },
    });
  };

  it('a body within one part is one whole put; a longer one equal parts, then complete', async () => {
    const one = sink();
    expect(await pipelinedUpload(source([3, 4]), { partSize: 8 }, one)).toBe('whole');
    expect(one.log).toEqual(['whole 7']);
    const many = sink();
    expect(await pipelinedUpload(source([5, 5, 7]), { partSize: 8 }, many)).toBe('multi');
    expect(many.log).toEqual(['create', 'part 1 8', 'part 2 8', 'part 3 1', 'complete 1,2,3']);
  });

  it('a store failure and a body failure are told apart, and an open upload is aborted once', async () => {
    const store = sink(2);
    await expect(pipelinedUpload(source([20]), { partSize: 8 }, store)).rejects.toThrow('store: store down');
    expect(store.log.filter((l) => l === 'abort')).toHaveLength(1);
    const body = sink();
    await expect(pipelinedUpload(source([8, 8], 'client gone'), { partSize: 8 }, body)).rejects.toThrow('body: client gone');
    expect(body.log.at(-1)).toBe('abort');
    const early = sink();
    await expect(pipelinedUpload(source([2], 'client gone'), { partSize: 8 }, early)).rejects.toThrow('body: client gone');
    expect(early.log).toEqual([]);
  });

  it('a body of another length than declared is `invalid`, and nothing is completed', async () => {
    const s = sink();
    await expect(pipelinedUpload(source([8, 8, 1]), { partSize: 8, contentLength: 16 }, s)).rejects.toMatchObject({ kind: 'invalid' });
    expect(s.log).not.toContain('complete 1,2');
    expect(s.log.at(-1)).toBe('abort');
  });
});
