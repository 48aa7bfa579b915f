/**
 * @module manifest-client
 * The puller's side of `GET /api/2.0/regate/model-versions/manifest`: resolves `models:/NAME/VERSION` (a number,
 * or a stage / `latest` through get-latest-versions as MLflow does), then reads every page of the manifest.
 * Credentials as the Databricks clients read them: `DATABRICKS_HOST` / `DATABRICKS_TOKEN` (or `REGATE_HOST` /
 * `REGATE_TOKEN`), sent as a Bearer token to regate's API only; the signed URIs need no credential.
 */

export interface ManifestEntry {
  path: string;
  size: number;
  sha256: string | null;
  signed_uri: string;
}

export interface Manifest {
  name: string;
  version: string;
  files: ManifestEntry[];
  /** Earliest expiry of the URIs on this machine's clock (seconds since the epoch): `expires_in` counted from receipt. */
  expiresAt: number;
}

export type Fetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface ApiTarget {
  host: string;
  token: string;
  fetch: Fetch;
}

export class PullError extends Error {}

/** `models:/NAME/VERSION` → name and version (a number, a stage, or `latest`). */
export function parseModelUri(uri: string): { name: string; version: string } {
  const m = /^models:\/([^/]+)\/([^/]+)\/?$/.exec(uri);
  if (!m) throw new PullError(`Expected models:/NAME/VERSION, got '${uri}'.`);
  return { name: decodeURIComponent(m[1]!), version: m[2]! };
}

async function getJson(t: ApiTarget, path: string, query: Record<string, string>): Promise<Record<string, unknown>> {
  const url = new URL(path, t.host.endsWith('/') ? t.host : `${t.host}/`);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const res = await t.fetch(url, { headers: { Authorization: `Bearer ${t.token}` } });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not JSON: reported with the status below.
  }
  if (!res.ok) throw new PullError(`${url.pathname} answered ${res.status}: ${String(body.error_code ?? '')} ${String(body.message ?? text.slice(0, 200))}`.trim());
  return body;
}

/** A stage name or `latest` → the version number it names now. */
export async function resolveVersion(t: ApiTarget, name: string, version: string): Promise<string> {
  if (/^[0-9]+$/.test(version)) return version;
  const stages: Record<string, string> = version.toLowerCase() === 'latest' ? {} : { stages: version };
  const r = await getJson(t, 'api/2.0/mlflow/registered-models/get-latest-versions', { name, ...stages });
  const versions = ((r.model_versions as Array<{ version: string }> | undefined) ?? []).map((v) => Number(v.version));
  if (versions.length === 0) throw new PullError(`Model '${name}' has no version in stage '${version}'.`);
  return String(Math.max(...versions));
}

/** Every page of the version's manifest, in path order. */
export async function fetchManifest(t: ApiTarget, name: string, version: string, nowSeconds: () => number = () => Date.now() / 1000): Promise<Manifest> {
  const files: ManifestEntry[] = [];
  let expiresAt = Number.POSITIVE_INFINITY;
  let pageToken: string | undefined;
  let resolvedName = name;
  do {
    const page = await getJson(t, 'api/2.0/regate/model-versions/manifest', { name, version, ...(pageToken ? { page_token: pageToken } : {}) });
    files.push(...(page.files as ManifestEntry[]));
    expiresAt = Math.min(expiresAt, nowSeconds() + Number(page.expires_in));
    resolvedName = String(page.name ?? name);
    pageToken = page.next_page_token as string | undefined;
  } while (pageToken);
  return { name: resolvedName, version, files, expiresAt };
}
