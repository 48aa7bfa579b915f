/**
 * @module artifact-routes
 * How clients learn a version's files and get them: `list-artifacts` (full relative paths, exact sizes,
 * paging) and `get-signed-download-uri` (a short-lived URI bound to principal, model id, version, path and
 * the object's ETag), both for principals with at least CAN_READ on the model.
 */
import { canonicalArtifactPath } from '../../core/artifacts/artifact-path.ts';
import { artifactAt, artifactsUnder, directChildren } from '../../core/artifacts/managed.ts';
import { readableVersion } from '../../core/artifacts/version-files.ts';
import { decodePageToken, toPage } from '../../core/registry/paging.ts';
import { validateName } from '../../core/registry/validate.ts';
import type { Route } from '../env.ts';
import { params } from '../params.ts';
import { MLFLOW, versionParam } from '../registry-params.ts';

/** Entries per list-artifacts page. */
export const LIST_PAGE = 1000;

export const routes: Route[] = [
  {
    method: 'GET',
    path: `${MLFLOW}/model-versions/list-artifacts`,
    handler: async (c) => {
      const p = await params(c);
      const name = validateName(p.str('name'));
      const version = versionParam(p);
      const path = canonicalArtifactPath(p.str('path', { optional: true, max: 4096 }) ?? '');
      const offset = decodePageToken(p.str('page_token', { optional: true, max: 200 }));
      const { deps } = c.var;
      const { version: v } = await readableVersion(deps.db, deps.acl, c.var.principal, name, version);
      if (path !== '') {
        const file = await artifactAt(deps.db, v.storage_id, path);
        // A file lists as itself, which MLflow reads as "this is a file".
        if (file) return c.json({ files: [{ path: file.path, is_dir: false, file_size: file.size }] });
      }
      const entries = directChildren(await artifactsUnder(deps.db, v.storage_id, path), path);
      const page = toPage(entries.slice(offset, offset + LIST_PAGE + 1), offset, LIST_PAGE);
      const files = page.items.map((e) => (e.isDir ? { path: e.path, is_dir: true } : { path: e.path, is_dir: false, file_size: e.size }));
      return c.json({ files, ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}) });
    },
  },
];
