/**
 * @module download-access
 * What the download route asks once a token has verified: which object do its claims name, and may its
 * principal still read the model? The claims alone decide (model id, version, path), never the URL text.
 * The principal's level is re-checked fresh on every download start, so a revocation stops new downloads at
 * once on this instance and within the ACL cache's epoch checks elsewhere; a token whose principal lost
 * CAN_READ, or whose object changed (ETag), names nothing.
 */
import type { SqlDb } from '../ports.ts';
import type { AclCache } from '../access/acl-cache.ts';
import { decide } from '../access/policy.ts';
import { loadPrincipal } from '../identity/store.ts';
import { modelById, versionRow } from '../registry/rows.ts';
import { artifactAt } from './managed.ts';
import { levelFor } from './storage-access.ts';
import type { DownloadClaims } from './signed-url.ts';

export function createArtifactKeyResolver(db: SqlDb, acl: AclCache | undefined): (claims: DownloadClaims) => Promise<string | null> {
  return async (claims) => {
    const model = await modelById(db, claims.mid);
    const principal = await loadPrincipal(db, claims.sub);
    if (!model || !principal || !/^[1-9][0-9]{0,14}$/.test(claims.ver)) return null;
    if (decide(await levelFor(db, acl, principal, model), { kind: 'view' }) !== 'allow') return null;
    const version = await versionRow(db, model.id, Number(claims.ver));
    if (!version) return null;
    const file = await artifactAt(db, version.storage_id, claims.p);
    return file && file.etag === claims.et && file.size === claims.sz ? file.object_key : null;
  };
}
