/**
 * @module permission-matrix.test
 * The ability table of share-mlflow-models.txt end to end: for every ability row, through the real endpoints
 * of endpoint-abilities.md, at every level, from every grant source (direct user, service principal, group,
 * nested group, registry-wide root, admin, creator). Allowed calls answer 200; refused calls answer 403
 * PERMISSION_DENIED when the caller can read the model, or exactly the missing-model 404 when it cannot, and
 * leave the database as it was.
 *
 * Marks per row, one per level (No Permissions, Can Read, Can Edit, Can Manage Staging Versions, Can Manage
 * Production Versions, Can Manage): `h` hidden, `d` denied, `a` allowed. Written out from the seed's table.
 * Read rows share one model per owner; mutating rows use their own model, reset by the admin after each
 * allowed call (or replaced by a fresh one where nothing can undo the call).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TEST_ENV, makeHarness, type CallResult, type Harness } from '../helpers/harness.ts';
import { LEVELS, makeGrantSources, type Fixture, type Owner } from '../helpers/grant-sources.ts';

/** Versions here come from s3:// sources, recorded as given (no artifacts are served in these tests). */
const ENV = { ...DEFAULT_TEST_ENV, REGATE_EXTERNAL_SOURCE_PREFIXES: 's3://bucket/' };

const API = '/api/2.0/mlflow';
const RM = `${API}/registered-models`;
const MV = `${API}/model-versions`;
const TR = `${API}/transition-requests`;
const PERMS = '/api/2.0/permissions/registered-models';
const SOURCE = 's3://bucket/models/matrix';
const MISSING = { name: 'no-such-model-anywhere', id: 'ffffffffffffffffffffffffffffffff' };

interface Model {
  name: string;
  id: string;
}
interface State {
  model: Model;
  version: string;
}

interface Row {
  title: string;
  marks: string;
  /** Read rows run on the shared read model; they change nothing. */
  read?: boolean;
  /** Brings a fresh model into the state the call needs (as the admin); returns the version to act on. */
  prepare?: (m: Model) => Promise<string>;
  /** Runs before the checked call, for callers that can read the model (e.g. making their own request). */
  setup?: (fx: Fixture, s: State) => Promise<void>;
  act: (fx: { token: string; name: string }, s: State) => Promise<CallResult>;
  /** Undoes an allowed call (as the admin). Without it the model is used up and the next caller gets a fresh one. */
  reset?: (s: State) => Promise<void>;
  /** For search endpoints: allowed means listed, hidden means 200 and not listed. */
  listed?: (r: CallResult, s: State) => boolean;
}

let h: Harness;
let fixtures: Fixture[];
let grantEntries: Array<Record<string, string>> = [];
let creatorToken = '';
const readModels = new Map<Owner, Model>();
let modelCounter = 0;

const admin = () => ({ token: h.adminToken, name: 'admin' });

async function createModel(owner: Owner): Promise<Model> {
  const name = `mx-${++modelCounter}`;
  await h.expectOk('POST', `${RM}/create`, { token: owner === 'creator' ? creatorToken : h.adminToken, body: { name } });
  await h.expectOk('POST', `${MV}/create`, { body: { name, source: SOURCE } });
  const id = (await h.expectOk('GET', `${API}/databricks/registered-models/get`, { query: { name } })).registered_model_databricks.id;
  if (owner === 'admin') {
    await h.expectOk('PATCH', `${PERMS}/${id}`, {
      body: { access_control_list: [...grantEntries, { user_name: 'bystander', permission_level: 'CAN_READ' }] },
    });
  }
  return { name, id };
}

const transition = (name: string, version: string, stage: string) =>
  h.expectOk('POST', `${MV}/transition-stage`, { body: { name, version, stage, archive_existing_versions: false } });
const requestAsAdmin = (name: string, version: string, stage: string) =>
  h.expectOk('POST', `${TR}/create`, { body: { name, version, stage } });
const newVersion = async (name: string) =>
  String((await h.expectOk('POST', `${MV}/create`, { body: { name, source: SOURCE } })).model_version.version);

/** Every row that belongs to the model, and the number of models: what a refused call must leave alone. */
async function snapshot(modelId: string): Promise<string> {
  const q = (sql: string) => h.db.prepare(sql).bind(modelId).all();
  return JSON.stringify([
    await q('SELECT * FROM registered_models WHERE id = ?'),
    await q('SELECT * FROM model_versions WHERE model_id = ? ORDER BY version'),
    await q('SELECT * FROM model_tags WHERE model_id = ? ORDER BY key'),
    await q('SELECT * FROM version_tags WHERE model_id = ? ORDER BY version, key'),
    await q('SELECT * FROM grants WHERE object_id = ? ORDER BY principal_id'),
    await q('SELECT * FROM activities WHERE model_id = ? ORDER BY id'),
    await q('SELECT * FROM comments WHERE model_id = ? ORDER BY id'),
    await h.db.prepare('SELECT COUNT(*) AS n FROM registered_models').all(),
  ]);
}

const view = (title: string, act: Row['act'], listed?: Row['listed']): Row => ({ title, marks: 'haaaaa', read: true, act, ...(listed ? { listed } : {}) });
const noop = async () => {};

function transitionRows(endpoint: string, label: string): Row[] {
  const pairs: Array<[string, string, string]> = [
    ['None', 'Staging', 'hddaaa'],
    ['Staging', 'Archived', 'hddaaa'],
    ['Archived', 'None', 'hddaaa'],
    ['None', 'Production', 'hdddaa'],
    ['Production', 'Staging', 'hdddaa'],
  ];
  return pairs.map(([from, to, marks]) => ({
    title: `Transition ${from} -> ${to} (${label})`,
    marks,
    prepare: async (m) => {
      if (from !== 'None') await transition(m.name, '1', from);
      return '1';
    },
    act: (fx, s) =>
      h.call('POST', endpoint, { token: fx.token, body: { name: s.model.name, version: s.version, stage: to, archive_existing_versions: false } }),
    reset: async (s) => {
      await transition(s.model.name, s.version, from);
    },
  }));
}

function decisionRows(): Row[] {
  const out: Row[] = [];
  for (const [to, marks] of [['Staging', 'hddaaa'], ['Production', 'hdddaa']] as const) {
    out.push({
      title: `Approve a request None -> ${to}`,
      marks,
      prepare: async (m) => {
        await requestAsAdmin(m.name, '1', to);
        return '1';
      },
      act: (fx, s) =>
        h.call('POST', `${TR}/approve`, { token: fx.token, body: { name: s.model.name, version: s.version, stage: to, archive_existing_versions: false } }),
      reset: async (s) => {
        await transition(s.model.name, s.version, 'None');
        await requestAsAdmin(s.model.name, s.version, to);
      },
    });
    out.push({
      title: `Reject a request None -> ${to}`,
      marks,
      prepare: async (m) => {
        await requestAsAdmin(m.name, '1', to);
        return '1';
      },
      act: (fx, s) => h.call('POST', `${TR}/reject`, { token: fx.token, body: { name: s.model.name, version: s.version, stage: to } }),
      reset: async (s) => {
        await requestAsAdmin(s.model.name, s.version, to);
      },
    });
  }
  return out;
}

const cancel = (fx: { token: string }, s: State, creator: string) =>
  h.call('DELETE', `${TR}/delete`, { token: fx.token, query: { name: s.model.name, version: s.version, stage: 'Staging', creator } });

const ROWS: Row[] = [
  // View model details, versions, stage transition requests, activities, and artifact download URIs.
  view('View: registered-models/get', (fx, s) => h.call('GET', `${RM}/get`, { token: fx.token, query: { name: s.model.name } })),
  view('View: databricks/registered-models/get', (fx, s) =>
    h.call('GET', `${API}/databricks/registered-models/get`, { token: fx.token, query: { name: s.model.name } })),
  view('View: get-latest-versions', (fx, s) => h.call('POST', `${RM}/get-latest-versions`, { token: fx.token, body: { name: s.model.name } })),
  view('View: model-versions/get', (fx, s) => h.call('GET', `${MV}/get`, { token: fx.token, query: { name: s.model.name, version: s.version } })),
  view('View: get-download-uri', (fx, s) =>
    h.call('GET', `${MV}/get-download-uri`, { token: fx.token, query: { name: s.model.name, version: s.version } })),
  view('View: transition-requests/list', (fx, s) => h.call('GET', `${TR}/list`, { token: fx.token, query: { name: s.model.name, version: s.version } })),
  view(
    'View: registered-models/search (filtered)',
    (fx, s) => h.call('GET', `${RM}/search`, { token: fx.token, query: { filter: `name = '${s.model.name}'` } }),
    (r, s) => (r.json.registered_models ?? []).some((m: { name: string }) => m.name === s.model.name),
  ),
  view(
    'View: model-versions/search (filtered)',
    (fx, s) => h.call('GET', `${MV}/search`, { token: fx.token, query: { filter: `name = '${s.model.name}'` } }),
    (r, s) => (r.json.model_versions ?? []).some((v: { name: string }) => v.name === s.model.name),
  ),
  {
    title: 'Request a stage transition',
    marks: 'haaaaa',
    act: (fx, s) => h.call('POST', `${TR}/create`, { token: fx.token, body: { name: s.model.name, version: s.version, stage: 'Staging' } }),
    reset: noop,
  },
  {
    title: 'Add a version',
    marks: 'hdaaaa',
    act: (fx, s) => h.call('POST', `${MV}/create`, { token: fx.token, body: { name: s.model.name, source: SOURCE } }),
    reset: noop,
  },
  {
    title: 'Update model description',
    marks: 'hdaaaa',
    act: (fx, s) => h.call('PATCH', `${RM}/update`, { token: fx.token, body: { name: s.model.name, description: `by ${fx.name}` } }),
    reset: noop,
  },
  {
    title: 'Update version description',
    marks: 'hdaaaa',
    act: (fx, s) =>
      h.call('PATCH', `${MV}/update`, { token: fx.token, body: { name: s.model.name, version: s.version, description: `by ${fx.name}` } }),
    reset: noop,
  },
  {
    title: 'Set a model tag',
    marks: 'hdaaaa',
    act: (fx, s) => h.call('POST', `${RM}/set-tag`, { token: fx.token, body: { name: s.model.name, key: 'k', value: fx.name } }),
    reset: noop,
  },
  {
    title: 'Delete a model tag',
    marks: 'hdaaaa',
    prepare: async (m) => {
      await h.expectOk('POST', `${RM}/set-tag`, { body: { name: m.name, key: 'k', value: 'v' } });
      return '1';
    },
    act: (fx, s) => h.call('DELETE', `${RM}/delete-tag`, { token: fx.token, query: { name: s.model.name, key: 'k' } }),
    reset: async (s) => {
      await h.expectOk('POST', `${RM}/set-tag`, { body: { name: s.model.name, key: 'k', value: 'v' } });
    },
  },
  {
    title: 'Set a version tag',
    marks: 'hdaaaa',
    act: (fx, s) =>
      h.call('POST', `${MV}/set-tag`, { token: fx.token, body: { name: s.model.name, version: s.version, key: 'k', value: fx.name } }),
    reset: noop,
  },
  {
    title: 'Delete a version tag',
    marks: 'hdaaaa',
    prepare: async (m) => {
      await h.expectOk('POST', `${MV}/set-tag`, { body: { name: m.name, version: '1', key: 'k', value: 'v' } });
      return '1';
    },
    act: (fx, s) => h.call('DELETE', `${MV}/delete-tag`, { token: fx.token, query: { name: s.model.name, version: s.version, key: 'k' } }),
    reset: async (s) => {
      await h.expectOk('POST', `${MV}/set-tag`, { body: { name: s.model.name, version: s.version, key: 'k', value: 'v' } });
    },
  },
  ...transitionRows(`${MV}/transition-stage`, 'model-versions/transition-stage'),
  ...transitionRows(`${API}/databricks/model-versions/transition-stage`, 'databricks/model-versions/transition-stage'),
  ...decisionRows(),
  {
    title: "Cancel someone else's transition request",
    marks: 'hdddda',
    prepare: async (m) => {
      await requestAsAdmin(m.name, '1', 'Staging');
      return '1';
    },
    act: (fx, s) => cancel(fx, s, 'admin'),
    reset: async (s) => {
      await requestAsAdmin(s.model.name, s.version, 'Staging');
    },
  },
  {
    title: 'Cancel the transition request one created',
    marks: 'haaaaa',
    setup: async (fx, s) => {
      await h.expectOk('POST', `${TR}/create`, { token: fx.token, body: { name: s.model.name, version: s.version, stage: 'Staging' } });
    },
    act: (fx, s) => cancel(fx, s, fx.name),
    reset: noop,
  },
  {
    title: 'Rename the model',
    marks: 'hdddda',
    act: (fx, s) => h.call('POST', `${RM}/rename`, { token: fx.token, body: { name: s.model.name, new_name: `${s.model.name}-renamed` } }),
    reset: async (s) => {
      await h.expectOk('POST', `${RM}/rename`, { body: { name: `${s.model.name}-renamed`, new_name: s.model.name } });
    },
  },
  {
    title: 'Modify permissions (PATCH)',
    marks: 'hdddda',
    act: (fx, s) =>
      h.call('PATCH', `${PERMS}/${s.model.id}`, {
        token: fx.token,
        body: { access_control_list: [{ user_name: 'bystander', permission_level: 'CAN_EDIT' }] },
      }),
    reset: async (s) => {
      await h.expectOk('PATCH', `${PERMS}/${s.model.id}`, {
        body: { access_control_list: [{ user_name: 'bystander', permission_level: 'CAN_READ' }] },
      });
    },
  },
  {
    title: 'Delete a model version',
    marks: 'hdddda',
    act: (fx, s) => h.call('DELETE', `${MV}/delete`, { token: fx.token, query: { name: s.model.name, version: s.version } }),
    reset: async (s) => {
      s.version = await newVersion(s.model.name);
    },
  },
  {
    title: 'Delete the model',
    marks: 'hdddda',
    act: (fx, s) => h.call('DELETE', `${RM}/delete`, { token: fx.token, query: { name: s.model.name } }),
  },
];

beforeAll(async () => {
  h = await makeHarness({ env: ENV });
  await h.user('bystander');
  ({ fixtures, modelGrants: grantEntries, creatorToken } = await makeGrantSources(h));
  for (const owner of ['admin', 'creator'] as const) readModels.set(owner, await createModel(owner));
});

describe('permission matrix through HTTP', () => {
  it('every source resolves to its level (sanity check of the fixtures)', async () => {
    const m = readModels.get('admin')!;
    for (const fx of fixtures) {
      const model = fx.owner === 'creator' ? readModels.get('creator')! : m;
      const r = await h.call('GET', `${API}/databricks/registered-models/get`, { token: fx.token, query: { name: model.name } });
      if (fx.level === 'NO_PERMISSIONS') expect(r.status, fx.label).toBe(404);
      else expect(r.json.registered_model_databricks?.permission_level, fx.label).toBe(fx.level);
    }
  });

  it.each(ROWS.map((row) => ({ row, title: row.title })))('$title', async ({ row }) => {
    const states = new Map<Owner, State | null>();
    const state = async (owner: Owner): Promise<State> => {
      let s = states.get(owner);
      if (!s) {
        if (row.read) {
          s = { model: readModels.get(owner)!, version: '1' };
        } else {
          const model = await createModel(owner);
          s = { model, version: row.prepare ? await row.prepare(model) : '1' };
        }
        states.set(owner, s);
      }
      return s;
    };
    // The answer for a model that does not exist, to compare hidden answers with.
    const missing = row.listed ? null : await row.act(admin(), { model: MISSING, version: '1' });
    if (missing) expect(missing.status, 'missing model').toBe(404);

    for (const fx of fixtures) {
      const expected = row.marks[LEVELS.indexOf(fx.level)];
      const s = await state(fx.owner);
      const where = `${row.title} as ${fx.label}`;
      if (fx.level !== 'NO_PERMISSIONS' && row.setup) await row.setup(fx, s);
      const before = await snapshot(s.model.id);
      const r = await row.act(fx, s);
      if (expected === 'a') {
        expect(r.status, `${where}: ${r.text}`).toBe(200);
        if (row.listed) expect(row.listed(r, s), where).toBe(true);
        if (row.read) continue;
        if (row.reset) await row.reset(s);
        else states.set(fx.owner, null);
        continue;
      }
      if (row.listed) {
        expect(r.status, where).toBe(200);
        expect(row.listed(r, s), where).toBe(false);
      } else if (expected === 'd') {
        expect(r.status, `${where}: ${r.text}`).toBe(403);
        expect(Object.keys(r.json).sort(), where).toEqual(['error_code', 'message']);
        expect(r.json.error_code, where).toBe('PERMISSION_DENIED');
      } else {
        expect(r.status, `${where}: ${r.text}`).toBe(404);
        const message = missing!.json.message.replaceAll(MISSING.name, s.model.name).replaceAll(MISSING.id, s.model.id);
        expect(r.json, where).toEqual({ error_code: 'RESOURCE_DOES_NOT_EXIST', message });
      }
      expect(await snapshot(s.model.id), `${where} changed nothing`).toBe(before);
    }
  });
});
