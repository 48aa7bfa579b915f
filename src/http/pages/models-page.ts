/**
 * @module models-page
 * The Models page: search by name, each model the caller may read with its latest version per stage and the
 * caller's level, and, for workspace admins and holders of registry-wide CAN_MANAGE, the registry-wide
 * Permissions button. Models and their latest versions come from `registered-models/search`, called as the
 * signed-in caller (so only readable models are listed); the caller's level on each from the gate's `levelOn`.
 */
import { rootLevel } from '../../core/access/resolve.ts';
import { levelOn } from '../../core/access/authorize.ts';
import type { Level } from '../../core/access/levels.ts';
import type { Ctx } from '../env.ts';
import { h } from './h.ts';
import { api } from './api.ts';
import { UI, pageUrl, render } from './layout.ts';
import { page } from './guard.ts';
import { STAGES } from '../../core/registry/stages.ts';
import { levelLabel, timeText } from './labels.ts';
import type { Session } from './session.ts';

const PAGE_SIZE = 50;

interface ModelSummary {
  name: string;
  permission_level: string;
  last_updated_timestamp: number;
  latest_versions: Array<{ version: string; current_stage: string }>;
}

/** A name search as an MLflow filter: case-insensitive substring; quotes doubled as the filter grammar wants. */
function nameFilter(q: string): string | undefined {
  return q === '' ? undefined : `name ILIKE '%${q.replace(/'/g, "''")}%'`;
}

/**
 * The caller's level on each listed model: one statement for the rows, then the gate's own `levelOn` (the ACL
 * cache, checked against this request's epochs), as the API's `databricks/registered-models/get` reports it.
 */
async function callerLevels(c: Ctx, s: Session, names: string[]): Promise<Map<string, Level>> {
  if (names.length === 0) return new Map();
  const rows = await c.var.deps.db
    .prepare('SELECT id, name, acl_epoch FROM registered_models WHERE name IN (SELECT value FROM json_each(?))')
    .bind(JSON.stringify(names))
    .all<{ id: string; name: string; acl_epoch: number }>();
  const out = new Map<string, Level>();
  for (const r of rows) out.set(r.name, await levelOn(c.var.deps, s.principal, r));
  return out;
}

async function show(c: Ctx, s: Session): Promise<Response> {
  const q = (c.req.query('q') ?? '').slice(0, 200);
  const pageToken = c.req.query('page_token');
  const found = await api(c, s.token, 'GET', '/api/2.0/mlflow/registered-models/search', {
    query: { filter: nameFilter(q), max_results: String(PAGE_SIZE), page_token: pageToken },
  });
  if (!found.ok) return render(c, { title: 'Models', session: s, status: found.status, error: found.message }, searchForm(q));
  const listed = (found.json.registered_models ?? []) as Array<Omit<ModelSummary, 'permission_level'>>;
  const levels = await callerLevels(c, s, listed.map((m) => m.name));
  const models: ModelSummary[] = listed.flatMap((m) => {
    const level = levels.get(m.name);
    // Deleted or renamed between the search and this read: leave it out.
    return level ? [{ ...m, permission_level: level }] : [];
  });
  const registryManager = (await rootLevel(c.var.deps.db, s.principal)) === 'CAN_MANAGE';

  return render(c, { title: 'Models', session: s },
    h('div', { class: 'head' },
      h('h1', null, 'Models'),
      registryManager
        ? h('a', { class: 'button', href: pageUrl(`${UI}/permissions`, { registry: '1' }), 'aria-label': 'Permissions for all registered models' }, 'Permissions')
        : null),
    searchForm(q),
    models.length === 0
      ? h('p', { class: 'muted' }, q ? `No model you can read matches “${q}”.` : 'There is no model you can read yet.')
      : h('table', null,
          h('caption', { class: 'muted' }, `${models.length} model${models.length === 1 ? '' : 's'}${q ? ` matching “${q}”` : ''}`),
          h('thead', null, h('tr', null,
            h('th', { scope: 'col' }, 'Name'),
            ...STAGES.map((st) => h('th', { scope: 'col' }, st === 'None' ? 'Latest (None)' : st)),
            h('th', { scope: 'col' }, 'Your level'),
            h('th', { scope: 'col' }, 'Last modified'))),
          h('tbody', null, ...models.map((m) => h('tr', null,
            h('td', null, h('a', { href: pageUrl(`${UI}/model`, { name: m.name }) }, m.name)),
            ...STAGES.map((st) => {
              const v = m.latest_versions.find((x) => x.current_stage === st);
              return h('td', null, v ? `Version ${v.version}` : h('span', { class: 'muted' }, '—'));
            }),
            h('td', null, h('span', { class: 'level' }, levelLabel(m.permission_level))),
            h('td', null, timeText(m.last_updated_timestamp)))))),
    found.json.next_page_token
      ? h('p', null, h('a', { href: pageUrl(`${UI}/models`, { q, page_token: found.json.next_page_token }) }, 'Next page'))
      : null,
  );
}

function searchForm(q: string) {
  return h('form', { method: 'get', action: `${UI}/models`, role: 'search', class: 'row' },
    h('div', null,
      h('label', { for: 'q' }, 'Search models by name'),
      h('input', { id: 'q', name: 'q', type: 'search', value: q, maxlength: 200 })),
    h('button', { type: 'submit' }, 'Search'));
}

export const modelsPage = page(show);
