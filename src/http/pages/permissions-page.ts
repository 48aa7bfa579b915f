/**
 * @module permissions-page
 * The Permission Settings dialog (a page, so it works without JavaScript): the entries set directly on a
 * model (or on all registered models), each removable; inherited entries (registry-wide grants, admins)
 * shown as inherited and not removable; a picker over users, groups and service principals; a level picker
 * offering only the levels the Permissions API lists; Add; Save. Add and Remove change only the pending list
 * (carried in the form, nothing stored); Save sends the whole list with one PUT to
 * `/api/2.0/permissions/registered-models/{id}`, as the signed-in caller, so the API's gate, validation and
 * grant-change audit apply.
 */
import { listPrincipals } from '../../core/identity/store.ts';
import { ADMINS_GROUP, type PrincipalKind } from '../../core/identity/principal.ts';
import { isGrantLevel, type GrantLevel } from '../../core/access/levels.ts';
import { ROOT } from '../../core/access/resolve.ts';
import type { Ctx } from '../env.ts';
import { h } from './h.ts';
import { api } from './api.ts';
import { UI, pageUrl, redirect, render } from './layout.ts';
import { action, field, fields, page, type Form } from './guard.ts';
import { levelLabel } from './labels.ts';
import type { Session } from './session.ts';

const BASE = '/api/2.0/permissions/registered-models';
const PICKER_MAX = 500;

/** One direct grant in the pending list. */
export interface Entry { kind: PrincipalKind; name: string; level: GrantLevel }

interface AclEntry {
  user_name?: string; group_name?: string; service_principal_name?: string; display_name?: string;
  all_permissions: Array<{ permission_level: string; inherited: boolean; inherited_from_object?: string[] }>;
}

interface Target { id: string; label: string; model?: string }

const KIND_WORD: Record<PrincipalKind, string> = { user: 'User', group: 'Group', service_principal: 'Service principal' };
const API_FIELD: Record<PrincipalKind, 'user_name' | 'group_name' | 'service_principal_name'> = {
  user: 'user_name', group: 'group_name', service_principal: 'service_principal_name',
};

function principalOf(e: AclEntry): { kind: PrincipalKind; name: string } {
  if (e.user_name !== undefined) return { kind: 'user', name: e.user_name };
  if (e.group_name !== undefined) return { kind: 'group', name: e.group_name };
  return { kind: 'service_principal', name: e.service_principal_name ?? '' };
}

/** Parses an entry carried in the form; anything else is dropped (the API validates again on Save). */
function parseEntry(raw: string): Entry | null {
  try {
    const v = JSON.parse(raw) as unknown;
    if (!Array.isArray(v) || v.length !== 3) return null;
    const [kind, name, level] = v as unknown[];
    if ((kind === 'user' || kind === 'group' || kind === 'service_principal') && typeof name === 'string' && name !== '' && isGrantLevel(level)) {
      return { kind, name, level };
    }
  } catch { /* not ours */ }
  return null;
}

/** Which object the dialog is for: `registry=1` (root) or `model=<name>` (its id read through the API). */
async function target(c: Ctx, s: Session, q: (k: string) => string | undefined): Promise<Target | { status: number; error: string }> {
  if (q('registry') === '1') return { id: ROOT, label: 'all registered models' };
  const name = q('model') ?? '';
  const r = await api(c, s.token, 'GET', '/api/2.0/mlflow/databricks/registered-models/get', { query: { name } });
  if (!r.ok) return { status: r.status, error: r.message };
  return { id: r.json.registered_model_databricks.id, label: name, model: name };
}

async function dialog(c: Ctx, s: Session, t: Target, pending: Entry[] | null, o: { notice?: string; error?: string; status?: number; dirty?: boolean }): Promise<Response> {
  const [acl, levels] = await Promise.all([
    api(c, s.token, 'GET', `${BASE}/${t.id}`),
    api(c, s.token, 'GET', `${BASE}/${t.id}/permissionLevels`),
  ]);
  const back = t.model ? pageUrl(`${UI}/model`, { name: t.model }) : `${UI}/models`;
  if (!acl.ok) {
    return render(c, { title: 'Permissions', session: s, status: acl.status, error: acl.message }, h('p', null, h('a', { href: back }, 'Back')));
  }
  const entries = (acl.json.access_control_list ?? []) as AclEntry[];
  const direct: Entry[] = [];
  const inherited: Array<{ kind: PrincipalKind; name: string; display?: string; level: string; from: string }> = [];
  for (const e of entries) {
    const p = principalOf(e);
    for (const perm of e.all_permissions) {
      const builtIn = t.id === ROOT && p.kind === 'group' && p.name === ADMINS_GROUP;
      if (perm.inherited || builtIn || !isGrantLevel(perm.permission_level)) {
        const from = builtIn ? 'built in: workspace admins' : (perm.inherited_from_object ?? []).some((x) => x.startsWith('/settings/'))
          ? 'workspace setting REGATE_MODEL_CREATORS' : 'all registered models';
        inherited.push({ ...p, ...(e.display_name ? { display: e.display_name } : {}), level: perm.permission_level, from });
      } else {
        direct.push({ ...p, level: perm.permission_level });
      }
    }
  }
  const list = pending ?? direct;
  const grantLevels = ((levels.ok ? levels.json.permission_levels : []) as Array<{ permission_level: string }>)
    .map((l) => l.permission_level).filter(isGrantLevel);
  const db = c.var.deps.db;
  const [users, groups, sps] = await Promise.all((['user', 'group', 'service_principal'] as const).map((k) => listPrincipals(db, k)));
  const option = (kind: PrincipalKind, name: string, label: string) => h('option', { value: JSON.stringify([kind, name]) }, label);

  const form = h('form', { method: 'post', action: pageUrl(`${UI}/permissions`, t.model ? { model: t.model } : { registry: '1' }) },
    h('input', { type: 'hidden', name: 'csrf', value: s.csrf }),
    ...list.map((e) => h('input', { type: 'hidden', name: 'entry', value: JSON.stringify([e.kind, e.name, e.level]) })),
    h('table', null,
      h('caption', { class: 'muted' }, 'Set here'),
      h('thead', null, h('tr', null, ...['Name', 'Type', 'Permission', ''].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null,
        list.length === 0 ? h('tr', null, h('td', { colspan: 4, class: 'muted' }, 'No one has a permission set directly here.')) : null,
        ...list.map((e, i) => h('tr', null,
          h('td', null, e.name), h('td', null, KIND_WORD[e.kind]), h('td', null, levelLabel(e.level)),
          h('td', null, h('button', { type: 'submit', name: 'intent', value: `remove:${i}`, class: 'danger', 'aria-label': `Remove ${e.name}` }, 'Remove')))))),
    h('fieldset', null,
      h('legend', null, 'Add a permission'),
      h('div', { class: 'row' },
        h('div', null,
          h('label', { for: 'principal' }, 'User, group or service principal'),
          h('select', { id: 'principal', name: 'principal' },
            h('option', { value: '' }, 'Choose…'),
            h('optgroup', { label: 'Users' }, ...users!.slice(0, PICKER_MAX).map((u) => option('user', u.name, u.display_name && u.display_name !== u.name ? `${u.display_name} (${u.name})` : u.name))),
            h('optgroup', { label: 'Groups' }, ...groups!.filter((g) => !(t.id === ROOT && g.name === ADMINS_GROUP)).slice(0, PICKER_MAX).map((g) => option('group', g.name, g.name))),
            h('optgroup', { label: 'Service principals' }, ...sps!.slice(0, PICKER_MAX).map((p) => option('service_principal', p.name, `${p.display_name} (${p.name})`))))),
        h('div', null,
          h('label', { for: 'level' }, 'Permission'),
          h('select', { id: 'level', name: 'level' }, ...grantLevels.map((l) => h('option', { value: l }, levelLabel(l))))),
        h('button', { type: 'submit', name: 'intent', value: 'add' }, 'Add'))),
    o.dirty ? h('p', { class: 'muted', role: 'status' }, 'Unsaved changes: Save applies them.') : null,
    h('div', { class: 'row' },
      h('button', { type: 'submit', name: 'intent', value: 'save', class: 'primary' }, 'Save'),
      h('a', { class: 'button', href: back }, 'Close')),
  );

  return render(c, { title: `Permissions: ${t.label}`, session: s, ...(o.status ? { status: o.status } : {}), ...(o.notice ? { notice: o.notice } : {}), ...(o.error ? { error: o.error } : {}) },
    h('section', { class: 'dialog', 'aria-labelledby': 'perm-title' },
      h('h1', { id: 'perm-title' }, `Permission Settings: ${t.label}`),
      form,
      h('h2', null, 'Inherited'),
      inherited.length === 0
        ? h('p', { class: 'muted' }, 'None.')
        : h('table', null,
            h('thead', null, h('tr', null, ...['Name', 'Type', 'Permission', 'Inherited from'].map((x) => h('th', { scope: 'col' }, x)))),
            h('tbody', null, ...inherited.map((e) => h('tr', null,
              h('td', null, e.display && e.display !== e.name ? `${e.display} (${e.name})` : e.name), h('td', null, KIND_WORD[e.kind]),
              h('td', null, levelLabel(e.level)), h('td', null, e.from, h('span', { class: 'muted' }, ' (not removable here)')))))),
    ));
}

async function show(c: Ctx, s: Session): Promise<Response> {
  const t = await target(c, s, (k) => c.req.query(k));
  if ('error' in t) return render(c, { title: 'Permissions', session: s, status: t.status, error: t.error }, h('p', null, h('a', { href: `${UI}/models` }, 'Back to Models')));
  return dialog(c, s, t, null, c.req.query('done') === 'permissions' ? { notice: 'Permissions saved.' } : {});
}

async function change(c: Ctx, s: Session, f: Form): Promise<Response> {
  const t = await target(c, s, (k) => c.req.query(k));
  if ('error' in t) return render(c, { title: 'Permissions', session: s, status: t.status, error: t.error }, h('p', null, h('a', { href: `${UI}/models` }, 'Back to Models')));
  const list = fields(f, 'entry').map(parseEntry).filter((e): e is Entry => e !== null);
  const intent = field(f, 'intent');
  if (intent === 'add') {
    let picked: unknown;
    try { picked = JSON.parse(field(f, 'principal') || 'null'); } catch { picked = null; }
    const level = field(f, 'level');
    const entry = Array.isArray(picked) ? parseEntry(JSON.stringify([picked[0], picked[1], level])) : null;
    if (!entry) return dialog(c, s, t, list, { status: 400, error: 'Choose a user, group or service principal and a permission, then Add.', dirty: true });
    const rest = list.filter((e) => !(e.kind === entry.kind && e.name === entry.name));
    return dialog(c, s, t, [...rest, entry], { dirty: true });
  }
  const rm = /^remove:(\d+)$/.exec(intent);
  if (rm) return dialog(c, s, t, list.filter((_, i) => i !== Number(rm[1])), { dirty: true });
  if (intent !== 'save') return dialog(c, s, t, list, { status: 400, error: 'Use Add, Remove or Save.', dirty: true });
  const r = await api(c, s.token, 'PUT', `${BASE}/${t.id}`, {
    body: { access_control_list: list.map((e) => ({ [API_FIELD[e.kind]]: e.name, permission_level: e.level })) },
  });
  // Refused: say so and stop (re-reading the dialog would only be refused, and audited, a second time).
  if (r.status === 403 || r.status === 404) return render(c, { title: 'Permissions', session: s, status: r.status, error: `Not saved: ${r.message}` }, h('p', null, h('a', { href: `${UI}/models` }, 'Back to Models')));
  if (!r.ok) return dialog(c, s, t, list, { status: r.status, error: `Not saved: ${r.message}`, dirty: true });
  return redirect(c, pageUrl(`${UI}/permissions`, { ...(t.model ? { model: t.model } : { registry: '1' }), done: 'permissions' }));
}

export const permissionsPage = { show: page(show), change: action(change) };
