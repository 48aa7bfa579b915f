/**
 * @module artifact-routes
 * How clients learn a version's files and get them: `list-artifacts` (full relative paths, exact sizes,
 * paging) and `get-signed-download-uri` (a short-lived URI bound to principal, model id, version, path and
 * the object's ETag), both for principals with at least CAN_READ on the model.
 */
import { canonicalArtifactPath } from '../../core/artifacts/artifact-path.ts';
import { decodeListToken, listPage, MAX_LIST_TOKEN } from '../../core/artifacts/managed.ts';
import { readableVersion, signableArtifact } from '../../core/artifacts/version-files.ts';
import { validateName } from '../../core/registry/validate.ts';
import { issueDownloadToken } from '../../core/artifacts/issued-tokens.ts';
import { downloadUri } from '../../core/artifacts/download-url.ts';
import { GatewayError, notFound, invalid } from '../../core/errors.ts';
import type { Route } from '../env.ts';
import { params } from '../params.ts';
import { MLFLOW, versionParam } from '../registry-params.ts';

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
      // One statement, reading the file `path` names or at most one page + 1 entries of this directory.
      const page = await listPage(deps.db, v.storage_id, path, after, deps.config.listArtifactsPageSize);
      // A file lists as itself, which MLflow reads as "this is a file".
      if (page.file) return c.json({ files: [{ path: page.file.path, is_dir: false, file_size: page.file.size }] });
      const files = page.entries.map((e) => (e.isDir ? { path: e.path, is_dir: true } : { path: e.path, is_dir: false, file_size: e.size }));
      return c.json({ files, ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}) });
    },
  },
  {
    method: 'GET',
    path: `${MLFLOW}/model-versions/get-signed-download-uri`,
    handler: async (c) => {
      const p = await params(c);
      const name = validateName(p.str('name'));
      const version = versionParam(p);
      const path = canonicalArtifactPath(p.str('path', { max: 4096 }));
      if (path === '') throw invalid("Parameter 'path' must name a file of the model version.");
      const { deps } = c.var;
      // Statement 2 (the epochs were statement 1): model, version and file in one read; CAN_READ from the
      // ACL cache, checked against the model's epoch in that row and the epochs this request read.
      const { model, version: v, file } = await signableArtifact(deps, c.var.principal, name, version, path);
      const { token, claims } = await issueDownloadToken(
        deps.issuedTokens,
        deps.keyRing,
        deps.clock,
        { sub: c.var.principal.id, mid: model.id, ver: String(v), p: path, et: file.etag, sz: file.size },
        { ttlSeconds: deps.config.signedUriTtlSeconds, crypto: deps.crypto },
      );
      deps.audit.record({
        principalId: c.var.principal.id,
        action: 'sign_uri',
        modelId: model.id,
        version: v,
        path,
        bytes: file.size,
        status: 200,
        detail: `jti=${claims.jti}`,
      });
      const origin = deps.config.publicUrl ?? new URL(c.req.url).origin;
      return c.json({ signed_uri: downloadUri(origin, claims, token), headers: [] }, 200, {
        'Cache-Control': 'private, no-store',
        'Referrer-Policy': 'no-referrer',
      });
    },
  },
];
