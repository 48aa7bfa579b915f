/**
 * @module config
 * Settings the core reads, parsed once from plain strings (environment variables on Node, vars on Workers).
 * Invalid values fail start-up with a precise message rather than falling back silently.
 */

export interface Config {
  /** Members of this group (and admins) may create registered models. `users` means every principal. */
  modelCreatorsGroup: string;
  /** Longest page the search endpoints return. */
  maxSearchResults: number;
  /**
   * Model-version sources outside regate's storage that are recorded as given, without copying files (the
   * version then has no artifacts regate can serve). Empty by default: such sources are refused.
   */
  externalSourcePrefixes: string[];
  /** Lifetime of signed download URIs, seconds (at most MAX_SIGNED_URI_TTL_SECONDS). */
  signedUriTtlSeconds: number;
  /** Origin written into signed URIs; by default the origin of the request that asked for one. */
  publicUrl: string | undefined;
  /** Entries per list-artifacts page (REGATE_LIST_ARTIFACTS_PAGE_SIZE, 100–10,000). */
  listArtifactsPageSize: number;
  /**
   * Origins a signed URI may name (REGATE_PUBLIC_ORIGINS, comma-separated). The request's own origin is used
   * when it is in the list, else the first entry; never a Host header outside it. Empty: see publicUrl.
   */
  publicOrigins: string[];
  /** Largest single file in the upload area, bytes (REGATE_MAX_UPLOAD_FILE_BYTES). */
  maxUploadFileBytes: number;
  /** Bytes one principal may hold in its upload area at once (REGATE_UPLOAD_QUOTA_BYTES). */
  uploadQuotaBytes: number;
}

/** 5 GiB: S3's largest single PUT, so a file accepted here can be stored on every backend. */
export const DEFAULT_MAX_UPLOAD_FILE_BYTES = 5 * 1024 ** 3;
/** 20 GiB of not-yet-registered files per principal. */
export const DEFAULT_UPLOAD_QUOTA_BYTES = 20 * 1024 ** 3;

function byteSetting(raw: Record<string, string | undefined>, name: string, fallback: number): number {
  const text = raw[name];
  if (text === undefined) return fallback;
  const n = /^[0-9]{1,16}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && Number.isSafeInteger(n))) throw new ConfigError(`${name} must be a positive integer number of bytes, got ${text}`);
  return n;
}

const ORIGIN = /^https?:\/\/[^/?#\s]+$/;

/**
 * MLflow's client lists a file's whole parent directory before downloading each file, following every page: a
 * page that holds the whole directory saves it (and regate) one request, plus one config fetch, per page per
 * file. 10,000 is also MLflow's own largest default page (model-versions/search).
 */
export const DEFAULT_LIST_ARTIFACTS_PAGE_SIZE = 10_000;

export const MAX_SIGNED_URI_TTL_SECONDS = 900;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** @example parseConfig({ REGATE_MODEL_CREATORS: 'ml-engineers' }) */
export function parseConfig(raw: Record<string, string | undefined>): Config {
  const group = raw.REGATE_MODEL_CREATORS ?? 'users';
  if (!/^[\w .@-]{1,256}$/.test(group)) throw new ConfigError(`REGATE_MODEL_CREATORS: not a group name: ${group}`);
  const prefixes = (raw.REGATE_EXTERNAL_SOURCE_PREFIXES ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');
  for (const p of prefixes) {
    if (!/^[a-z][a-z0-9+.-]*:\S*$/i.test(p) || /^dbfs:/i.test(p)) throw new ConfigError(`REGATE_EXTERNAL_SOURCE_PREFIXES: not a URI prefix: ${p}`);
  }
  const ttlRaw = raw.REGATE_SIGNED_URI_TTL_SECONDS ?? '300';
  const ttl = /^[0-9]{1,6}$/.test(ttlRaw) ? Number(ttlRaw) : NaN;
  if (!(ttl >= 1 && ttl <= MAX_SIGNED_URI_TTL_SECONDS)) {
    throw new ConfigError(`REGATE_SIGNED_URI_TTL_SECONDS must be an integer from 1 to ${MAX_SIGNED_URI_TTL_SECONDS}, got ${ttlRaw}`);
  }
  const publicUrl = raw.REGATE_PUBLIC_URL;
  if (publicUrl !== undefined && !ORIGIN.test(publicUrl)) throw new ConfigError(`REGATE_PUBLIC_URL must be an origin like https://host:port, got ${publicUrl}`);
  const pageRaw = raw.REGATE_LIST_ARTIFACTS_PAGE_SIZE ?? String(DEFAULT_LIST_ARTIFACTS_PAGE_SIZE);
  const page = /^[0-9]{1,6}$/.test(pageRaw) ? Number(pageRaw) : NaN;
  if (!(page >= 100 && page <= 10_000)) throw new ConfigError(`REGATE_LIST_ARTIFACTS_PAGE_SIZE must be an integer from 100 to 10000, got ${pageRaw}`);
  const publicOrigins = (raw.REGATE_PUBLIC_ORIGINS ?? '').split(',').map((x) => x.trim().replace(/\/$/, '')).filter((x) => x !== '');
  for (const o of publicOrigins) if (!ORIGIN.test(o)) throw new ConfigError(`REGATE_PUBLIC_ORIGINS: not an origin like https://host:port: ${o}`);
  return {
    modelCreatorsGroup: group,
    maxSearchResults: 1000,
    externalSourcePrefixes: prefixes,
    signedUriTtlSeconds: ttl,
    publicUrl,
    listArtifactsPageSize: page,
    publicOrigins,
    maxUploadFileBytes: byteSetting(raw, 'REGATE_MAX_UPLOAD_FILE_BYTES', DEFAULT_MAX_UPLOAD_FILE_BYTES),
    uploadQuotaBytes: byteSetting(raw, 'REGATE_UPLOAD_QUOTA_BYTES', DEFAULT_UPLOAD_QUOTA_BYTES),
  };
}
