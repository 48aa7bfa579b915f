/**
 * @module acl-cache
 * Cached permission decisions, keyed by principal id and model id (never a name or a token). Allows live
 * longer than denials, so a new grant shows quickly. Each entry records the model's `acl_epoch` and the
 * global epoch it was computed under, and is used only while both still hold:
 * - the model's epoch comes from the model row, which every check reads with the data it needs anyway;
 * - the global and data epochs are the ones the request read at its start (`principal.epochs`); the data epoch
 *   moves with any write to the grants table, even one made with the sqlite3 shell.
 * So a grant, group or principal change made on any instance is seen by the next request everywhere; the TTLs
 * bound memory, not staleness. This instance also drops entries at once when it writes a change.
 */
import type { Cache } from '../cache.ts';
import type { SqlDb } from '../ports.ts';
import type { Principal } from '../identity/principal.ts';
import { rank, type Level } from './levels.ts';
import { effectiveLevel } from './resolve.ts';

export interface AclEntry {
  level: Level;
  modelEpoch: number;
  globalEpoch: number;
  /** The data epoch: moved by any write to grants, including one made outside regate (migration 0009). */
  dataEpoch: number;
}

export interface AclCacheOptions {
  /** How long an allow (CAN_READ or more) is reused. Default 60 s; never more than 300 s. */
  allowTtlMs?: number;
  /** How long a denial is reused. Default 10 s. */
  denyTtlMs?: number;
}

export const DEFAULT_ALLOW_TTL_MS = 60_000;
export const DEFAULT_DENY_TTL_MS = 10_000;

export class AclCache {
  readonly cache: Cache<AclEntry>;
  readonly allowTtlMs: number;
  readonly denyTtlMs: number;

  constructor(cache: Cache<AclEntry>, opts: AclCacheOptions = {}) {
    this.cache = cache;
    this.allowTtlMs = opts.allowTtlMs ?? DEFAULT_ALLOW_TTL_MS;
    this.denyTtlMs = opts.denyTtlMs ?? DEFAULT_DENY_TTL_MS;
    if (this.allowTtlMs <= 0 || this.allowTtlMs > 300_000) throw new RangeError('allowTtlMs must be in (0, 300000]');
    if (this.denyTtlMs <= 0 || this.denyTtlMs > this.allowTtlMs) throw new RangeError('denyTtlMs must be in (0, allowTtlMs]');
  }

  static key(principalId: string, modelId: string): string {
    return `acl:${principalId}:${modelId}`;
  }

  /**
   * The caller's effective level on a model. `model.acl_epoch` must come from a read made by this request.
   * @example await acl.level(db, principal, model)
   */
  async level(db: SqlDb, principal: Principal, model: { id: string; acl_epoch: number }): Promise<Level> {
    if (principal.isAdmin) return 'CAN_MANAGE';
    const key = AclCache.key(principal.id, model.id);
    const hit = this.cache.get(key);
    const e = principal.epochs;
    if (hit && hit.modelEpoch === model.acl_epoch && hit.globalEpoch === e.global && hit.dataEpoch === e.data) return hit.level;
    // The epochs were read before the grants: a change racing this computation leaves an entry already stale.
    const level = await effectiveLevel(db, principal, model.id);
    const ttl = rank(level) >= rank('CAN_READ') ? this.allowTtlMs : this.denyTtlMs;
    this.cache.set(key, { level, modelEpoch: model.acl_epoch, globalEpoch: e.global, dataEpoch: e.data }, ttl);
    return level;
  }

  invalidateModel(modelId: string): void {
    const suffix = `:${modelId}`;
    for (const k of [...this.cache.keys()]) if (k.endsWith(suffix)) this.cache.delete(k);
  }

  invalidateAll(): void {
    this.cache.clear();
  }
}
