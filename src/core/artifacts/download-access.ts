/**
 * @module download-access
 * What the download route asks once a token has verified: which object do its claims name, and may its
 * principal still read the model? The claims alone decide (model id, version, path), never the URL text.
 * One statement (none when warm: data-cache.ts) reads the model (with its ACL epoch), the version and the file together; the principal and
 * its level come from the identity and ACL caches, checked against the epochs the request read. So a
 * revocation stops new downloads at the next request on every instance, and a token whose principal lost
 * CAN_READ, or whose object changed (ETag), names nothing. Refusals of access are recorded in the audit trail.
 */
import type { SqlDb } from '../ports.ts';
import type { AclCache } from '../access/acl-cache.ts';
import type { DataCache } from '../access/data-cache.ts';
import type { Epochs } from '../access/epoch.ts';
import type { IdentityCache } from '../identity/identity-cache.ts';
import type { AuditSink } from '../audit.ts';
import { decide } from '../access/policy.ts';
import type { ModelRow } from '../registry/rows.ts';
import { recordReadRefusal } from './storage-access.ts';
import { digestHeaders } from './digest.ts';
import type { DownloadClaims } from './signed-url.ts';

/** The object a token names, with the file's SHA-256 (hex) from the same row when the index has one. */
export interface ResolvedArtifact {
  key: string;
  sha256: string | null;
  /** The digest headers of `sha256` (digest.ts), rendered once per cached row. */
  digest?: Record<string, string>;
}

/** A bare key (resolvers that know no digest) or the key with its digest; null: the token names nothing. */
export type ArtifactKeyResolver = (claims: DownloadClaims, epochs: Epochs) => Promise<string | ResolvedArtifact | null>;

const DOWNLOAD_SQL = `SELECT m.id, m.name, m.description, m.user_id, m.created_at, m.updated_at, m.next_version, m.acl_epoch,
    a.object_key AS a_key, a.size AS a_size, a.etag AS a_etag, a.sha256 AS a_sha256
  FROM registered_models m
  JOIN model_versions v ON v.model_id = m.id AND v.version = ?2
  JOIN artifacts a ON a.storage_id = v.storage_id AND a.path = ?3
  WHERE m.id = ?1`;

type DownloadRow = ModelRow & { a_key: string; a_size: number; a_etag: string; a_sha256: string | null };

export function createArtifactKeyResolver(deps: { db: SqlDb; acl: AclCache; identities: IdentityCache; audit: AuditSink; rows: DataCache }): ArtifactKeyResolver {
  const { db, acl, identities, audit, rows } = deps;
  return async (claims, epochs) => {
    if (!/^[1-9][0-9]{0,14}$/.test(claims.ver)) return null;
    // Warm, from memory under the request's data epoch (data-cache.ts): no statement.
    const row = await rows.through(`dl\0${claims.mid}\0${claims.ver}\0${claims.p}`, epochs, async () => {
      const r = await db.prepare(DOWNLOAD_SQL).bind(claims.mid, Number(claims.ver), claims.p).first<DownloadRow>();
      return r && { ...r, digest: digestHeaders(r.a_sha256) };
    });
    if (!row) return null;
    const principal = await identities.principal(db, claims.sub, epochs);
    if (!principal) return null;
    const { a_key, a_size, a_etag, a_sha256, digest, ...model } = row;
    const level = await acl.level(db, principal, model);
    if (decide(level, { kind: 'view' }) !== 'allow') {
      recordReadRefusal(audit, principal, model.id, level, claims.p);
      return null;
    }
    // The digest rides on the row this statement already reads: the download headers cost no statement.
    return a_etag === claims.et && a_size === claims.sz ? { key: a_key, sha256: a_sha256, digest } : null;
  };
}
