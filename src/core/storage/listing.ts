/**
 * @module listing
 * The S3 ListObjectsV2 rules (prefix, delimiter roll-up, paging) as one pure function, shared by the adapters
 * that list by scanning (memory, local directory) so they cannot drift apart.
 */
import { compareKeys, StorageError, type ListOptions, type ListResult, type ObjectMeta } from './object-store.ts';

export const MAX_LIST_LIMIT = 1000;

/** A list's page size: `limit` if it is an integer 1-MAX_LIST_LIMIT (default the maximum), else `invalid`. Every store's rule. */
export function listLimit(limit: number | undefined): number {
  const n = limit ?? MAX_LIST_LIMIT;
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIST_LIMIT) throw new StorageError('invalid', `List limit must be an integer 1-${MAX_LIST_LIMIT}.`);
  return n;
}

/**
 * One page of a listing. `all` holds every object whose key starts with `prefix`, in any order.
 * The cursor is the last entry (key or rolled-up prefix) of the page; entries sort in the same order as keys,
 * and every entry after the cursor compares greater than it, so "strictly after the cursor" is the next page.
 * @example paginate(metas, 'models/', { delimiter: '/', limit: 2 })
 */
export function paginate(all: readonly ObjectMeta[], prefix: string, opts: ListOptions = {}): ListResult {
  const limit = listLimit(opts.limit);
  const delimiter = opts.delimiter === '' ? undefined : opts.delimiter;
  const sorted = all.filter((m) => m.key.startsWith(prefix)).sort((a, b) => compareKeys(a.key, b.key));
  const objects: ObjectMeta[] = [];
  const prefixes: string[] = [];
  let last: string | undefined;
  for (const meta of sorted) {
    const entry = entryFor(meta.key, prefix, delimiter);
    if (opts.cursor !== undefined && compareKeys(entry, opts.cursor) <= 0) continue;
    if (entry === last) continue;
    if (objects.length + prefixes.length === limit) return { objects, prefixes, cursor: last! };
    if (entry === meta.key) objects.push(meta);
    else prefixes.push(entry);
    last = entry;
  }
  return { objects, prefixes };
}

function entryFor(key: string, prefix: string, delimiter: string | undefined): string {
  if (delimiter === undefined) return key;
  const at = key.indexOf(delimiter, prefix.length);
  return at < 0 ? key : key.slice(0, at + delimiter.length);
}
