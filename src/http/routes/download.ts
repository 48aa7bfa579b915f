/**
 * @module download
 * `GET|HEAD /api/2.0/regate/artifacts/download?mid=…&ver=…&p=…&t=<JWS>`: streams one artifact to whoever holds
 * a valid download token (public route: the token is the credential; range-and-signing §2.2).
 *
 * Order, every refusal before any storage I/O: method (GET/HEAD, else 405) → token (401) → the raw query must
 * be byte-equal to the canonical rendering of the token's own claims (403) → storage key from the claims
 * (404) → preconditions (304/412; a HEAD for Last-Modified only when a date condition needs it) → Range
 * (416) → one storage GET with `If-Match: <et>` and the single resolved range, under a TTFB budget (504) →
 * the upstream answer checked against the request (P11: range, length, ETag, size; else 502) → 200/206 with an
 * exact Content-Length and a guarded body (errors after the first byte abort the connection).
 * The token never reaches a log line or an error body; logs carry jti, principal, model id, version and path.
 */
import { GatewayError } from '../../core/errors.ts';
import { evaluatePreconditions, httpDate, ifRangeMatches, needsLastModified } from '../../core/artifacts/conditional.ts';
import { contentRange, parseRange, unsatisfiedRange, type RangeResult } from '../../core/artifacts/range.ts';
import type { DownloadClaims } from '../../core/artifacts/signed-url.ts';
import { verifyCached } from '../../core/artifacts/verified-tokens.ts';
import { DOWNLOAD_PATH, downloadQuery, rawQuery, tokenParam } from '../../core/artifacts/download-url.ts';
import type { StreamOutcome } from '../../core/artifacts/guarded-body.ts';
import { withDeadline } from '../../core/artifacts/deadline.ts';
import { DEFAULT_IDLE_MS, DEFAULT_TTFB_MS } from '../../core/artifacts/download-limits.ts';
import { StorageError, type GetResult, type ObjectMeta } from '../../core/storage/object-store.ts';
import { systemTimers } from '../../core/timers.ts';
import { unauthenticated } from '../middleware/authenticate.ts';
import { errorResponse } from '../respond.ts';
import { digestHeaders } from '../../core/artifacts/digest.ts';
import { storageError } from './storage-errors.ts';
import type { Ctx, Deps, Route } from '../env.ts';

/** On every answer of this route, errors included: the URL holds a credential (RFC 6750 §2.3, T27). */
const PRIVATE = {
  'Cache-Control': 'private, no-store, no-transform',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
} as const;

type LogFields = Record<string, unknown>;

function fail(err: GatewayError, extra: Record<string, string> = {}): Response {
  return errorResponse(new GatewayError(err.code, err.message, { ...err.headers, ...PRIVATE, ...extra }));
}

/** Headers shared by 200, 206, 304 and HEAD (RFC 9110 §15.3.7, §15.4.5: same validators and cache headers). */
function validatorHeaders(etag: string, lastModified: number | undefined): Record<string, string> {
  return { ...PRIVATE, ETag: etag, ...(lastModified === undefined ? {} : { 'Last-Modified': httpDate(lastModified) }) };
}

/** Why a storage answer does not match what was asked (P11, nginx slice checks), or null. */
function upstreamProblem(r: GetResult, claims: DownloadClaims, range: RangeResult): string | null {
  if (r.meta.etag !== claims.et) return 'etag';
  if (r.meta.size !== claims.sz) return 'size';
  if (range.kind === 'partial') {
    if (!r.range || r.range.start !== range.start || r.range.end !== range.end) return 'range';
    if (r.length !== range.end - range.start + 1) return 'length';
  } else {
    if (r.range) return 'range';
    if (r.length !== claims.sz) return 'length';
  }
  return null;
}

function methodNotAllowed(): Response {
  return fail(new GatewayError('METHOD_NOT_ALLOWED', 'Download URIs accept GET and HEAD only.'), { Allow: 'GET, HEAD' });
}

async function download(c: Ctx): Promise<Response> {
  const deps: Deps = c.var.deps;
  const method = c.req.method;
  const base: LogFields = { requestId: c.var.requestId, method };
  const refuse = (err: GatewayError, reason: string, fields: LogFields = {}, extra: Record<string, string> = {}) => {
    deps.logger.warn('artifact_download_refused', { ...base, ...fields, status: err.status, reason });
    return fail(err, extra);
  };
  if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed();
  const { objectStore: store, keyRing, artifactKey } = deps;

  const query = rawQuery(c.req.url);
  const token = tokenParam(query);
  if (token === undefined) return refuse(unauthenticated('A download token is required.', true), 'missing_token');
  // The workspace epochs (one statement, or none on Node while the notice is unchanged: epoch-notice.ts); a key
  // rotated or removed on another instance reloads the ring.
  const epochs = await deps.epochs();
  await keyRing.refresh(epochs.keys);
  const verified = await verifyCached(deps.verifiedTokens, token, keyRing, deps.clock, { maxTtlSeconds: deps.download.maxTtlSeconds, hash: deps.crypto.sha256Hex });
  if (!verified.ok) return refuse(unauthenticated('Invalid or expired download token.', true), verified.reason);
  const claims = verified.claims;
  const who: LogFields = { jti: claims.jti, principal: claims.sub, modelId: claims.mid, version: claims.ver, path: claims.p };
  if (query !== downloadQuery(claims, token)) {
    return refuse(new GatewayError('PERMISSION_DENIED', 'This URI does not match its download token.'), 'url_mismatch', who);
  }

  let resolved: Awaited<ReturnType<typeof artifactKey>>;
  try {
    // Model, version and file in one read (none when warm: data-cache.ts); principal and level from the caches.
    resolved = await artifactKey(claims, epochs);
  } catch (e) {
    // The resolver may refuse (e.g. access re-checked and revoked); answer with this route's headers.
    if (e instanceof GatewayError) return refuse(e, 'artifact_key', who);
    throw e;
  }
  if (resolved === null) return refuse(new GatewayError('RESOURCE_DOES_NOT_EXIST', 'The artifact no longer exists.'), 'no_artifact', who);
  const key = typeof resolved === 'string' ? resolved : resolved.key;
  // Repr-Digest / x-regate-sha256: the whole file's digest, on 200, 206 and HEAD alike (digest.ts).
  const digest = typeof resolved === 'string' ? {} : (resolved.digest ?? digestHeaders(resolved.sha256));

  const timers = deps.timers ?? systemTimers;
  const ttfbMs = deps.download?.ttfbMs ?? DEFAULT_TTFB_MS;
  const upstream = new AbortController();
  // The client leaving aborts the storage request. Linked by hand: AbortSignal.any cost ~10 µs per download
  // start (weak references and their cleanup), as much as the rest of the route.
  const client = c.req.raw.signal;
  if (client.aborted) upstream.abort(client.reason);
  else client.addEventListener('abort', () => upstream.abort(client.reason), { once: true });
  const signal = upstream.signal;
  const storageFailed = (e: unknown) => {
    // A store that throws something else is broken, not the request: 502 like any upstream failure.
    const se = e instanceof StorageError ? e : new StorageError('internal', 'Unexpected storage failure.', { cause: e });
    return refuse(storageError(se), c.req.raw.signal.aborted ? 'client_abort' : `storage_${se.kind}`, who);
  };

  const headers = c.req.raw.headers;
  let lastModified: number | undefined;
  if (method === 'HEAD' || needsLastModified(headers, method)) {
    let meta: ObjectMeta | null;
    try {
      meta = await withDeadline(() => store.head(key, { signal }), { ms: ttfbMs, timers, controller: upstream });
    } catch (e) {
      return storageFailed(e);
    }
    if (!meta) return refuse(new GatewayError('RESOURCE_DOES_NOT_EXIST', 'The artifact is no longer in storage.'), 'storage_not_found', who);
    if (meta.etag !== claims.et) return storageFailed(new StorageError('precondition_failed', 'ETag changed.'));
    if (meta.size !== claims.sz) return refuse(new GatewayError('IO_ERROR', 'Artifact storage answered inconsistently.'), 'upstream_size', who);
    lastModified = meta.lastModified;
  }

  const validators = { etag: claims.et, ...(lastModified === undefined ? {} : { lastModified }) };
  const pre = evaluatePreconditions(headers, validators, method);
  if (pre === 'precondition_failed') {
    return refuse(new GatewayError('PRECONDITION_FAILED', 'A precondition of the request failed.'), 'precondition', who);
  }
  if (pre === 'not_modified') {
    return new Response(null, { status: 304, headers: validatorHeaders(claims.et, lastModified) });
  }
  const full = {
    ...validatorHeaders(claims.et, lastModified),
    ...digest,
    'Accept-Ranges': 'bytes',
    'Content-Type': 'application/octet-stream',
  };
  if (method === 'HEAD') {
    // Range is ignored on HEAD (RFC 9110 §14.2, P5).
    return new Response(null, { status: 200, headers: { ...full, 'Content-Length': String(claims.sz) } });
  }

  const range: RangeResult = ifRangeMatches(headers.get('If-Range'), validators)
    ? parseRange(headers.get('Range') ?? undefined, claims.sz)
    : { kind: 'full' };
  if (range.kind === 'unsatisfiable') {
    return refuse(new GatewayError('RANGE_NOT_SATISFIABLE', 'The requested range is not satisfiable.'), 'range', who, {
      'Content-Range': unsatisfiedRange(claims.sz),
    });
  }

  let result: GetResult;
  try {
    result = await withDeadline(
      () => store.get(key, { ifMatch: claims.et, signal, ...(range.kind === 'partial' ? { range: { start: range.start, end: range.end } } : {}) }),
      { ms: ttfbMs, timers, controller: upstream, onLate: (late) => void late.release() },
    );
  } catch (e) {
    return storageFailed(e);
  }
  const problem = upstreamProblem(result, claims, range);
  if (problem) {
    upstream.abort();
    await result.release();
    return refuse(new GatewayError('IO_ERROR', 'Artifact storage answered inconsistently.'), `upstream_${problem}`, who);
  }

  const length = range.kind === 'partial' ? range.end - range.start + 1 : claims.sz;
  const status = range.kind === 'partial' ? 206 : 200;
  const out: Record<string, string> = {
    ...full,
    'Last-Modified': httpDate(result.meta.lastModified),
    'Content-Length': String(length),
    ...(range.kind === 'partial' ? { 'Content-Range': contentRange(range.start, range.end, claims.sz) } : {}),
  };
  // Served downloads are recorded in the audit trail (with the bytes sent), not logged: a log line per request
  // is a synchronous write on the hot path. Refusals and aborted streams are logged.
  const logged = () => ({ ...base, ...who, status, ...(range.kind === 'partial' ? { range: `${range.start}-${range.end}` } : {}) });
  if (length === 0) {
    await result.release();
    auditDownload(deps, claims, status, 0, '');
    return new Response(null, { status, headers: out });
  }
  const onEnd = (outcome: StreamOutcome, bytes: number) => {
    if (outcome !== 'complete') deps.logger.warn('artifact_stream_aborted', { ...logged(), reason: outcome, bytes, expected: length });
    auditDownload(deps, claims, status, bytes, outcome === 'complete' ? '' : `aborted: ${outcome}`);
  };
  // The runtime writes the body (Node: straight into the socket), guarded: exact length, idle budget, abort.
  return deps.respondObject(
    {
      status,
      headers: out,
      result,
      expected: length,
      idleMs: deps.download?.idleMs ?? DEFAULT_IDLE_MS,
      timers,
      abortUpstream: (reason) => upstream.abort(reason),
      onEnd,
    },
    c.env,
  );
}

/**
 * Records a download in the audit trail once its outcome is known (bytes actually sent), through the group
 * commit: the body has already gone, so a failing audit write is logged, never turned into a broken download.
 */
function auditDownload(deps: Deps, claims: DownloadClaims, status: number, bytes: number, detail: string): void {
  const version = Number(claims.ver);
  deps.audit.record({
    principalId: claims.sub,
    action: 'download',
    modelId: claims.mid,
    version: Number.isSafeInteger(version) ? version : null,
    path: claims.p,
    bytes,
    status,
    detail: `jti=${claims.jti}${detail ? `; ${detail}` : ''}`,
  });
}

const handler = (c: Ctx) => download(c);

export const routes: Route[] = [
  { method: 'GET', path: DOWNLOAD_PATH, auth: 'public', handler },
  ...(['POST', 'PUT', 'PATCH', 'DELETE'] as const).map((method): Route => ({ method, path: DOWNLOAD_PATH, auth: 'public', handler: methodNotAllowed })),
];
