/**
 * @module model-page
 * One model: its versions (stage, status, tags), its description (a form for CAN_EDIT and above), open
 * transition requests with only the buttons the caller's level allows (the API's `available_actions`, which
 * apply the stage rules), a form to request a transition, the activity feed with comments, and a copyable
 * MLflow snippet. Everything is read as the signed-in caller through the API, except the feed (activity.ts).
 */
import { decide } from '../../core/access/policy.ts';
import { isGrantLevel, type Level } from '../../core/access/levels.ts';
import { publicOriginOrUndefined } from '../../core/public-origin.ts';
import type { Ctx } from '../env.ts';
import { h, type Child } from './h.ts';
import { api } from './api.ts';
import { UI, pageUrl, render } from './layout.ts';
import { page } from './guard.ts';
import { STAGES } from '../../core/registry/stages.ts';
import { levelLabel, timeText } from './labels.ts';
import { describeItem, modelFeed } from './activity.ts';
import type { Session } from './session.ts';

interface Tag { key: string; value: string }
interface Version { version: string; current_stage: string; status: string; status_message?: string; user_id: string; creation_timestamp: number; description?: string; tags: Tag[] }
interface OpenRequest { id: string; from_stage?: string; to_stage?: string; user_id: string; comment?: string; creation_timestamp: number; available_actions: string[] }

/** What a finished action says (by code: a link cannot put its own words on the page). */
const DONE: Record<string, string> = {
  description: 'Description saved.',
  requested: 'Transition requested.',
  approve: 'Request approved; the version was transitioned.',
  reject: 'Request rejected.',
  cancel: 'Request cancelled.',
  comment: 'Comment added.',
  permissions: 'Permissions saved.',
};

function hidden(name: string, value: string) {
  return h('input', { type: 'hidden', name, value });
}

/** A one-button form posting to a page action. */
function post(s: Session, to: string, values: Record<string, string>, label: string, cls = '', ariaLabel?: string) {
  return h('form', { class: 'inline', method: 'post', action: to },
    hidden('csrf', s.csrf), ...Object.entries(values).map(([k, v]) => hidden(k, v)),
    h('button', { type: 'submit', class: cls, 'aria-label': ariaLabel ?? label }, label));
}

async function show(c: Ctx, s: Session): Promise<Response> {
  const name = c.req.query('name') ?? '';
  const got = await api(c, s.token, 'GET', '/api/2.0/mlflow/databricks/registered-models/get', { query: { name } });
  if (!got.ok) return render(c, { title: 'Model', session: s, status: got.status, error: got.message }, h('p', null, h('a', { href: `${UI}/models` }, 'Back to Models')));
  const m = got.json.registered_model_databricks as { id: string; name: string; description?: string; tags: Tag[]; permission_level: string; user_id: string };
  const level: Level = isGrantLevel(m.permission_level) ? m.permission_level : 'NO_PERMISSIONS';
  const may = (kind: 'update_description' | 'request_transition' | 'modify_permissions') => decide(level, { kind }) === 'allow';

  const vs = await api(c, s.token, 'GET', '/api/2.0/mlflow/model-versions/search', {
    query: { filter: `name = '${name.replace(/'/g, "''")}'`, order_by: 'version_number DESC', max_results: '200' },
  });
  const versions: Version[] = vs.ok ? vs.json.model_versions ?? [] : [];
  const feed = await modelFeed(c.var.deps, s.principal, name);
  const requests: Array<OpenRequest & { version: number }> = [];
  for (const v of feed.openVersions) {
    const r = await api(c, s.token, 'GET', '/api/2.0/mlflow/transition-requests/list', { query: { name, version: String(v) } });
    if (r.ok) for (const q of r.json.requests ?? []) requests.push({ ...q, version: v });
  }
  const notice = DONE[c.req.query('done') ?? ''];

  const origin = new URL(c.req.url).origin;
  const host = publicOriginOrUndefined(c.var.deps.config, origin) ?? origin;
  const production = versions.find((v) => v.current_stage === 'Production');
  const target = production ? 'Production' : versions[0]?.version ?? '1';
  const snippet = [
    'import mlflow',
    `# DATABRICKS_HOST=${host}  DATABRICKS_TOKEN=<your regate token>`,
    'mlflow.set_registry_uri("databricks")',
    `model = mlflow.pyfunc.load_model(${JSON.stringify(`models:/${m.name}/${target}`)})`,
  ].join('\n');

  return render(c, { title: m.name, session: s, ...(notice ? { notice } : {}) },
    h('p', null, h('a', { href: `${UI}/models` }, 'Models'), ' / ', m.name),
    h('div', { class: 'head' },
      h('h1', null, m.name),
      h('span', { class: 'badge' }, 'Your level: ', h('span', { class: 'level' }, levelLabel(level))),
      may('modify_permissions') ? h('a', { class: 'button', href: pageUrl(`${UI}/permissions`, { model: m.name }) }, 'Permissions') : null),
    h('p', { class: 'muted' }, `Created by ${m.user_id}`),

    h('h2', null, 'Description'),
    may('update_description')
      ? h('form', { method: 'post', action: `${UI}/model/description` },
          hidden('csrf', s.csrf), hidden('name', m.name),
          h('label', { for: 'description' }, 'Model description'), h('br', null),
          h('textarea', { id: 'description', name: 'description', rows: 3, cols: 80, maxlength: 65536 }, m.description ?? ''), h('br', null),
          h('button', { type: 'submit' }, 'Save description'))
      : h('p', null, m.description ? m.description : h('span', { class: 'muted' }, 'No description.')),

    m.tags.length > 0 ? h('h2', null, 'Tags') : null,
    m.tags.length > 0 ? h('ul', null, ...m.tags.map((t) => h('li', null, h('code', null, t.key), ': ', t.value))) : null,

    h('h2', null, 'Versions'),
    versions.length === 0 ? h('p', { class: 'muted' }, 'No versions yet.') : versionTable(s, m.name, versions, may('request_transition')),

    h('h2', null, 'Open transition requests'),
    requests.length === 0 ? h('p', { class: 'muted' }, 'None.') : requestTable(s, m.name, requests),

    h('h2', null, 'Activity'),
    versions.length > 0 ? commentForm(s, m.name, versions) : null,
    feed.items.length === 0
      ? h('p', { class: 'muted' }, 'No activity yet.')
      : h('ul', { class: 'feed' }, ...feed.items.map((i) => h('li', null,
          h('span', null, describeItem(i)), ' ', h('span', { class: 'muted' }, timeText(i.at)),
          i.comment ? h('div', null, h('q', null, i.comment)) : null,
          i.systemComment ? h('div', { class: 'muted' }, i.systemComment) : null))),

    h('h2', null, 'Load this model with MLflow'),
    h('pre', { class: 'snippet', id: 'snippet', tabindex: 0, 'aria-label': 'MLflow snippet' }, snippet),
    h('button', { type: 'button', 'data-copy': 'snippet' }, 'Copy snippet'),
  );
}

function versionTable(s: Session, name: string, versions: Version[], mayRequest: boolean) {
  return h('table', null,
    h('thead', null, h('tr', null,
      ...['Version', 'Stage', 'Status', 'Registered', 'Tags', mayRequest ? 'Request a transition' : ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, ...versions.map((v) => h('tr', null,
      h('td', null, `Version ${v.version}`),
      h('td', null, h('span', { class: 'badge' }, v.current_stage)),
      h('td', null, v.status, v.status_message ? h('div', { class: 'muted' }, v.status_message) : null),
      h('td', null, `${timeText(v.creation_timestamp)} by ${v.user_id}`),
      h('td', null, v.tags.length === 0 ? '' : v.tags.map((t) => `${t.key}=${t.value}`).join(', ')),
      h('td', null, mayRequest ? requestForm(s, name, v) : null)))));
}

function requestForm(s: Session, name: string, v: Version): Child {
  const id = `to-${v.version}`;
  return h('form', { method: 'post', action: `${UI}/model/request`, class: 'row' },
    hidden('csrf', s.csrf), hidden('name', name), hidden('version', v.version),
    h('div', null,
      h('label', { for: id }, `Version ${v.version} to`),
      h('select', { id, name: 'stage' }, ...STAGES.filter((st) => st !== v.current_stage).map((st) => h('option', { value: st }, st)))),
    h('div', null,
      h('label', { for: `comment-${v.version}` }, 'Request comment'),
      h('input', { id: `comment-${v.version}`, name: 'comment', type: 'text', maxlength: 65536 })),
    h('button', { type: 'submit' }, 'Request'));
}

function requestTable(s: Session, name: string, requests: Array<OpenRequest & { version: number }>) {
  return h('table', null,
    h('thead', null, h('tr', null, ...['Version', 'Transition', 'Requested by', 'Comment', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, ...requests.map((r) => {
      const base = { name, version: String(r.version), stage: r.to_stage ?? 'None', creator: r.user_id };
      const what = `version ${r.version} to ${r.to_stage} requested by ${r.user_id}`;
      const acts = r.available_actions;
      return h('tr', null,
        h('td', null, `Version ${r.version}`),
        h('td', null, `${r.from_stage ?? 'None'} → ${r.to_stage ?? 'None'}`),
        h('td', null, r.user_id, h('div', { class: 'muted' }, timeText(r.creation_timestamp))),
        h('td', null, r.comment ?? ''),
        h('td', null,
          acts.includes('APPROVE_TRANSITION_REQUEST') ? post(s, `${UI}/model/decide`, { ...base, decision: 'approve' }, 'Approve', 'primary', `Approve ${what}`) : null, ' ',
          acts.includes('REJECT_TRANSITION_REQUEST') ? post(s, `${UI}/model/decide`, { ...base, decision: 'reject' }, 'Reject', 'danger', `Reject ${what}`) : null, ' ',
          acts.includes('CANCEL_TRANSITION_REQUEST') ? post(s, `${UI}/model/decide`, { ...base, decision: 'cancel' }, 'Cancel request', '', `Cancel ${what}`) : null,
          acts.length === 0 ? h('span', { class: 'muted' }, 'No action for your level') : null));
    })));
}

function commentForm(s: Session, name: string, versions: Version[]) {
  return h('form', { method: 'post', action: `${UI}/model/comment`, class: 'row' },
    hidden('csrf', s.csrf), hidden('name', name),
    h('div', null,
      h('label', { for: 'comment-version' }, 'Version'),
      h('select', { id: 'comment-version', name: 'version' }, ...versions.map((v) => h('option', { value: v.version }, `Version ${v.version}`)))),
    h('div', null,
      h('label', { for: 'comment-text' }, 'Comment'),
      h('input', { id: 'comment-text', name: 'comment', type: 'text', required: true, size: 50, maxlength: 65536 })),
    h('button', { type: 'submit' }, 'Add comment'));
}

export const modelPage = page(show);
