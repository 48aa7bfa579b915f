/**
 * @module manifest-route
 * `GET /api/2.0/regate/model-versions/manifest?name=&version=[&page_token=][&max_results=]` (regate's extension
 * beside the Databricks API, issue 11 §2): every file of a version with its path, size, SHA-256 and a signed
 * download URI, in one call instead of one list plus one get-signed-download-uri per file (4,000+ requests for a
 * 2,000-file model). The gate is get-signed-download-uri's, CAN_READ, decided once for the whole page, and the
 * page is one audit row. URIs are the same download tokens as get-signed-download-uri's (reused within the first
 * third of their lifetime); `expires_at` is the earliest expiry among them (seconds since the epoch),
 * `expires_in` the seconds left until then (for clients whose clock is off) and `ttl_seconds` the configured
 * lifetime: re-fetch the manifest for fresh URIs.
 */
import { decodeManifestToken, manifestPage, MANIFEST_PAGE_MAX } from '../../core/artifacts/manifest.ts';
import { readableVersion } from '../../core/artifacts/version-files.ts';
import { issueDownloadToken } from '../../core/artifacts/issued-tokens.ts';
import { downloadUri } from '../../core/artifacts/download-url.ts';
import { validateName } from '../../core/registry/validate.ts';
import { publicOrigin } from '../../core/public-origin.ts';
import type { Route } from '../env.ts';
import { params } from '../params.ts';
import { versionParam } from '../registry-params.ts';

const MANIFEST_PATH = '/api/2.0/regate/model-versions/manifest';

export const routes: Route[] = [
  {
    method: 'GET',
    path: MANIFEST_PATH,
    handler: async (c) => {
      const p = await params(c);
      const name = validateName(p.str('name'));
      const version = versionParam(p);
      const after = decodeManifestToken(p.str('page_token', { optional: true, max: 4096 }));
      const pageSize = p.int('max_results', { min: 1, max: MANIFEST_PAGE_MAX, fallback: MANIFEST_PAGE_MAX })!;
      const { deps } = c.var;
      const principal = c.var.principal;
      // One permission decision for the whole page (CAN_READ, as get-signed-download-uri), then one read.
      const { model, version: v } = await readableVersion(deps, principal, name, version);
      const origin = publicOrigin(deps.config, new URL(c.req.url).origin);
      const page = await manifestPage(deps.db, v.storage_id, after, pageSize);
      const ttl = deps.config.signedUriTtlSeconds;
      const nowS = Math.floor(deps.clock.now() / 1000);
      let expiresAt = Number.POSITIVE_INFINITY;
      let bytes = 0;
      const files = [];
      for (const f of page.files) {
        const { token, claims } = await issueDownloadToken(
          deps.issuedTokens,
          deps.keyRing,
          deps.clock,
          { sub: principal.id, mid: model.id, ver: String(v.version), p: f.path, et: f.etag, sz: f.size },
          { ttlSeconds: ttl, crypto: deps.crypto },
        );
        expiresAt = Math.min(expiresAt, claims.exp);
        bytes += f.size;
        files.push({ path: f.path, size: f.size, sha256: f.sha256, signed_uri: downloadUri(origin, claims, token) });
      }
      deps.audit.record({
        principalId: principal.id,
        action: 'sign_uri',
        modelId: model.id,
        version: v.version,
        path: null,
        bytes,
        status: 200,
        detail: `manifest: ${files.length} URIs${after ? ` after ${after.slice(0, 200)}` : ''}`,
      });
      const body = {
        name: model.name,
        version: String(v.version),
        files,
        ttl_seconds: ttl,
        expires_at: files.length > 0 ? expiresAt : nowS + ttl,
        // Seconds left from this answer: what a client with a skewed clock should count from.
        expires_in: (files.length > 0 ? expiresAt : nowS + ttl) - nowS,
        ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
      };
      return c.json(body, 200, { 'Cache-Control': 'private, no-store', 'Referrer-Policy': 'no-referrer' });
    },
  },
];
