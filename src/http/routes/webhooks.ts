/**
 * @module webhooks (routes)
 * `/api/2.0/mlflow/registry-webhooks/create|list|update|delete|test` as the Databricks SDK calls them (POST,
 * GET with repeated `events`, PATCH, DELETE with `id` in the query, POST). Every parameter is validated before
 * anything is looked up; `job_spec` (running a Databricks job) is refused: regate has no jobs.
 */
import { invalid } from '../../core/errors.ts';
import { parseEvent, parseEvents, parseStatus, type WebhookEvent } from '../../core/webhooks/events.ts';
import {
  AUTHORIZATION_MAX,
  createWebhook,
  deleteWebhook,
  DESCRIPTION_MAX,
  listWebhooks,
  SECRET_MAX,
  testWebhook,
  updateWebhook,
  URL_MAX,
  type HttpUrlSpecInput,
  type WebhookDeps,
} from '../../core/webhooks/service.ts';
import { defaultWebhookRuntime } from '../../core/webhooks/runtime-default.ts';
import type { Ctx, Route } from '../env.ts';
import { params, type Params } from '../params.ts';
import { ok } from '../respond.ts';

const BASE = '/api/2.0/mlflow/registry-webhooks';
const ID_MAX = 64;
const LIST_DEFAULT = 100;
const LIST_MAX = 1000;

function webhookDeps(c: Ctx): WebhookDeps {
  const d = c.var.deps;
  return { db: d.db, clock: d.clock, acl: d.acl, webhooks: d.webhooks ?? defaultWebhookRuntime(d.timers) };
}

function refuseJobSpec(p: Params): void {
  if (p.has('job_spec')) throw invalid('job_spec webhooks are not supported: regate runs no jobs. Use http_url_spec.');
}

/** A header value: printable, no CR/LF (it is sent as the Authorization header). */
const HEADER_VALUE = /^[\x20-\x7e\u0080-\uffff]*$/;

function urlSpec(p: Params): HttpUrlSpecInput {
  const raw = p.values.http_url_spec;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(`Invalid value for parameter 'http_url_spec': expected an object.`);
  const spec = raw as Record<string, unknown>;
  const str = (key: string, max: number, required: boolean): string | undefined => {
    const v = spec[key];
    if (v === undefined || v === null) {
      if (required) throw invalid(`Missing value for required parameter 'http_url_spec.${key}'.`);
      return undefined;
    }
    if (typeof v !== 'string') throw invalid(`Invalid value for parameter 'http_url_spec.${key}': expected a string.`);
    if (v.length > max) throw invalid(`Parameter 'http_url_spec.${key}' is longer than ${max} characters.`);
    return v;
  };
  const url = str('url', URL_MAX, true)!;
  const secret = str('secret', SECRET_MAX, false);
  const authorization = str('authorization', AUTHORIZATION_MAX, false);
  if (authorization !== undefined && !HEADER_VALUE.test(authorization)) {
    throw invalid(`Parameter 'http_url_spec.authorization' must be a header value ("<auth type> <credentials>"), without control characters.`);
  }
  const ssl = spec.enable_ssl_verification;
  if (ssl !== undefined && ssl !== null && typeof ssl !== 'boolean') throw invalid(`Invalid value for parameter 'http_url_spec.enable_ssl_verification': expected a boolean.`);
  return {
    url,
    ...(secret ? { secret } : {}),
    ...(authorization ? { authorization } : {}),
    enableSslVerification: ssl !== false,
  };
}

function eventList(p: Params): WebhookEvent[] {
  const v = p.values.events;
  if (v !== undefined && v !== null && !Array.isArray(v)) throw invalid(`Invalid value for parameter 'events': expected a list of events.`);
  return parseEvents((v as unknown[] | undefined) ?? []);
}

export const routes: Route[] = [
  {
    method: 'POST',
    path: `${BASE}/create`,
    handler: async (c: Ctx) => {
      const p = await params(c);
      refuseJobSpec(p);
      const events = eventList(p);
      if (!p.has('http_url_spec')) throw invalid(`Missing value for required parameter 'http_url_spec'.`);
      const spec = urlSpec(p);
      const modelName = p.str('model_name', { optional: true, max: 256 });
      const description = p.str('description', { optional: true, max: DESCRIPTION_MAX }) ?? '';
      const status = p.has('status') ? parseStatus(p.values.status) : 'ACTIVE';
      const webhook = await createWebhook(webhookDeps(c), c.var.principal, {
        ...(modelName !== undefined && modelName !== '' ? { modelName } : {}),
        events,
        description,
        status,
        spec,
      });
      return ok(c, { webhook });
    },
  },
  {
    method: 'GET',
    path: `${BASE}/list`,
    handler: async (c: Ctx) => {
      const p = await params(c);
      const events = [...new Set(p.strList('events').map(parseEvent))];
      const modelName = p.str('model_name', { optional: true, max: 256 });
      const maxResults = p.int('max_results', { min: 1, max: LIST_MAX, fallback: LIST_DEFAULT })!;
      const pageToken = p.str('page_token', { optional: true, max: 64 });
      const r = await listWebhooks(webhookDeps(c), c.var.principal, {
        events,
        maxResults,
        ...(modelName ? { modelName } : {}),
        ...(pageToken ? { pageToken } : {}),
      });
      return ok(c, { webhooks: r.webhooks, ...(r.nextPageToken ? { next_page_token: r.nextPageToken } : {}) });
    },
  },
  {
    method: 'PATCH',
    path: `${BASE}/update`,
    handler: async (c: Ctx) => {
      const p = await params(c);
      refuseJobSpec(p);
      const id = p.str('id', { max: ID_MAX });
      const events = p.has('events') ? eventList(p) : undefined;
      const spec = p.has('http_url_spec') ? urlSpec(p) : undefined;
      const description = p.str('description', { optional: true, max: DESCRIPTION_MAX });
      const status = p.has('status') ? parseStatus(p.values.status) : undefined;
      const webhook = await updateWebhook(webhookDeps(c), c.var.principal, {
        id,
        ...(events ? { events } : {}),
        ...(spec ? { spec } : {}),
        ...(description !== undefined ? { description } : {}),
        ...(status ? { status } : {}),
      });
      return ok(c, { webhook });
    },
  },
  {
    method: 'DELETE',
    path: `${BASE}/delete`,
    handler: async (c: Ctx) => {
      const id = (await params(c)).str('id', { max: ID_MAX });
      await deleteWebhook(webhookDeps(c), c.var.principal, id);
      return ok(c, {});
    },
  },
  {
    method: 'POST',
    path: `${BASE}/test`,
    handler: async (c: Ctx) => {
      const p = await params(c);
      const id = p.str('id', { max: ID_MAX });
      const event = p.has('event') ? parseEvent(p.values.event) : undefined;
      const r = await testWebhook(webhookDeps(c), c.var.principal, id, event);
      // The SDK (0.162) reads status_code and body at the top level; the REST reference nests them in `webhook`.
      return ok(c, { ...r, webhook: r });
    },
  },
];


