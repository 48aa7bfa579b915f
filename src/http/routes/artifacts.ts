/**
 * @module artifact-routes
 * How clients learn a version's files and get them: `list-artifacts` (full relative paths, exact sizes,
 * paging) and `get-signed-download-uri` (a short-lived URI bound to principal, model id, version, path and
 * the object's ETag), both for principals with at least CAN_READ on the model.
 */
import { canonicalArtifactPath } from '../../core/artifacts/artifact-path.ts';
import { decodeListToken, listPage, MAX_LIST_TOKEN, type ListedEntry } from '../../core/artifacts/managed.ts';
import { readableVersion, signableArtifact } from '../../core/artifacts/version-files.ts';
import { validateName } from '../../core/registry/validate.ts';
import { issueDownloadToken, REUSE_FRACTION } from '../../core/artifacts/issued-tokens.ts';
import { memoized } from '../answer-memo.ts';
import { downloadUri } from '../../core/artifacts/download-url.ts';
import { GatewayError, notFound, invalid } from '../../core/errors.ts';
import { publicOrigin } from '../../core/public-origin.ts';
import type { Deps, Route } from '../env.ts';
import { params } from '../params.ts';
import { MLFLOW, versionParam } from '../registry-params.ts';

/** The signed URI is a credential: never stored by a cache, never sent on as a Referer. */
const SIGNED_URI_HEADERS: Record<string, string> = {
  'Content-Type': 'application/json',
  'Cache-Control': 'private, no-store',
  'Referrer-Policy': 'no-referrer',
};

/** How long a rendered list-artifacts page is kept (it cannot go stale; this bounds memory use over time). */
const LISTING_TTL_MS = 60_000;

/** One list-artifacts answer: one statement, reading the file `path` names or at most one page + 1 entries. */
async function renderListing(deps: Deps, storageId: string, path: string, after: ReturnType<typeof decodeListToken>, pageSize: number) {
  const page = await listPage(deps.db, storageId, path, after, pageSize);
  // A file lists as itself, which MLflow reads as "this is a file".
  // `sha256` (hex) is regate's extension: the MLflow client and the Databricks SDK ignore fields they do not know.
  const file = (e: ListedEntry) => ({ path: e.path, is_dir: false, file_size: e.size, ...(e.sha256 ? { sha256: e.sha256 } : {}) });
  if (page.file) return { files: [file(page.file)] };
  const files = page.entries.map((e) => (e.isDir ? { path: e.path, is_dir: true } : file(e)));
  return { files, ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}) };
}

export const routes: Route[] = [
  {
    method: 'GET',
    path: `${MLFLOW}/model-versions/list-artifacts`,
    handler: async (c) => {
      const p = await params(c);
      const name = validateName(p.str('name'));
      const version = versionParam(p);
      const path = canonicalArtifactPath(p.str('path', { optional: true, max: 4096 }) ?? '');
      const after = decodeListToken(p.str('page_token', { optional: true, max: MAX_LIST_TOKEN }), path);
      const { deps } = c.var;
      const { version: v } = await readableVersion(deps, c.var.principal, name, version);
      // A version's files never change once it is registered (they are indexed in the batch that makes it
      // READY, and deleting the version removes its storage id), so a rendered page can be served again to any
      // caller who passed the check above. MLflow re-lists a file's whole folder before every file it fetches.
      const pageSize = deps.config.listArtifactsPageSize;
      const cacheKey = JSON.stringify([v.storage_id, path, after, pageSize]);
      let body = v.status === 'READY' ? deps.listings.get(cacheKey)?.json : undefined;
      if (body === undefined) {
        body = JSON.stringify(await renderListing(deps, v.storage_id, path, after, pageSize));
        if (v.status === 'READY') deps.listings.set(cacheKey, { json: body }, LISTING_TTL_MS);
      }
      return c.body(body, 200, { 'Content-Type': 'application/json' });
    },
  },
  {
    method: 'GET',
    path: `${MLFLOW}/model-versions/get-signed-download-uri`,
    // The same caller asking the same URL again, with nothing changed since, gets the same answer
    // (answer-memo.ts), audited again like any issue.
    handler: (c) =>
      memoized(c, async () => {
        const { deps, principal } = c.var;
        const p = await params(c);
        const name = validateName(p.str('name'));
        const version = versionParam(p);
        const path = canonicalArtifactPath(p.str('path', { max: 4096 }));
        if (path === '') throw invalid("Parameter 'path' must name a file of the model version.");
        // Model, version and file in one read (none when warm); CAN_READ from the ACL cache, checked against the
        // model's epoch in that row and the epochs this request read.
        const { model, version: v, file } = await signableArtifact(deps, principal, name, version, path);
        // Decided before minting: a Host the operator did not allow is refused, and no token exists for it.
        const origin = publicOrigin(deps.config, new URL(c.req.url).origin);
        const ttlSeconds = deps.config.signedUriTtlSeconds;
        const { token, claims } = await issueDownloadToken(
          deps.issuedTokens,
          deps.keyRing,
          deps.clock,
          { sub: principal.id, mid: model.id, ver: String(v), p: path, et: file.etag, sz: file.size },
          { ttlSeconds, crypto: deps.crypto },
        );
        return {
          json: { signed_uri: downloadUri(origin, claims, token), headers: [] },
          headers: SIGNED_URI_HEADERS,
          audit: {
            principalId: principal.id,
            action: 'sign_uri',
            modelId: model.id,
            version: v,
            path,
            bytes: file.size,
            status: 200,
            detail: `jti=${claims.jti}`,
          },
          // Kept while issued-tokens.ts would hand out this very token again.
          until: (claims.exp - ttlSeconds * (1 - REUSE_FRACTION)) * 1000,
        };
      }),
  },
];
