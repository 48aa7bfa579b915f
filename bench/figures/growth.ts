/**
 * @module growth
 * Figure 5: latency of the first page of `registered-models/search` and `model-versions/search`, with and
 * without a `name LIKE '%…%'` filter, as the registry grows (e.g. 1,000 / 10,000 / 50,000 models), for the
 * admin and for a user who can read 1 % of the models.
 *
 * Seeding goes through the HTTP API (bounded parallel loop, admin token): registered-models/create, then
 * model-versions/create with an external `s3://` source (recorded without copying: this regate is started with
 * REGATE_EXTERNAL_SOURCE_PREFIXES), and for every 100th model a CAN_READ grant to the reader through the
 * Permissions API. Every model has one version, so both searches see as many rows as there are models.
 *
 * Each response is checked against the expected first page (exact names, order and next_page_token) before any
 * timing; timed answers must have status 200 and the same length as the checked one.
 */
import { join } from 'node:path';
import { call, ok, parallel, sampleSequential } from '../lib/http.ts';
import { createModel, grant, makeUser, modelId, MV, RM, startRegate, type Identity, type Regate } from '../lib/regate.ts';
import { percentile, spread } from '../lib/stats.ts';
import type { RunContext } from '../lib/context.ts';
import type { Figure, GrowthFigure, GrowthRow } from '../lib/results.ts';

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];
/** The filter word: 10 % of all models carry it, and 10 % of the reader's. */
const FILTER_WORD = 'delta';
const SOURCE_PREFIX = 's3://bench-growth/';
/** MLflow's client defaults: search_registered_models(max_results=100), search_model_versions(max_results=10_000). */
const MODELS_PAGE = 100;
const VERSIONS_PAGE = 10_000;

/** Model i's name: sorted by i (zero-padded), one of ten words spread evenly over all models and over every 100th. */
export function modelName(i: number): string {
  return `bench-${String(i).padStart(6, '0')}-${WORDS[(37 * i + Math.floor(i / 100)) % 10]}`;
}
const readable = (i: number) => i % 100 === 0;

interface Query {
  endpoint: GrowthRow['endpoint'];
  filter: string;
}

const QUERIES: Query[] = [
  { endpoint: 'registered-models/search', filter: '' },
  { endpoint: 'registered-models/search', filter: `name LIKE '%${FILTER_WORD}%'` },
  { endpoint: 'model-versions/search', filter: '' },
  { endpoint: 'model-versions/search', filter: `name LIKE '%${FILTER_WORD}%'` },
];

function url(rg: Regate, q: Query): string {
  const path = q.endpoint === 'registered-models/search' ? `${RM}/search` : `${MV}/search`;
  const params = new URLSearchParams({ max_results: String(q.endpoint === 'registered-models/search' ? MODELS_PAGE : VERSIONS_PAGE) });
  if (q.filter) params.set('filter', q.filter);
  return `${rg.url}${path}?${params}`;
}

/**
 * The first page this caller must get: the names that match, and whether more exist. Models come back by name;
 * versions in MLflow's default order (last update descending, then name, then version descending), and the
 * seeding runs in parallel, so for versions `names` is the set to draw from and the order is checked on the
 * answer's own timestamps.
 */
function expected(models: number, q: Query, reader: boolean): { names: string[]; more: boolean } {
  const page = q.endpoint === 'registered-models/search' ? MODELS_PAGE : VERSIONS_PAGE;
  const names: string[] = [];
  for (let i = 0; i < models; i++) {
    if (reader && !readable(i)) continue;
    const n = modelName(i);
    if (q.filter && !n.includes(FILTER_WORD)) continue;
    names.push(n);
  }
  const more = names.length > page;
  return { names: q.endpoint === 'registered-models/search' ? names.slice(0, page) : names, more };
}

function checkPage(json: unknown, want: { names: string[]; more: boolean }, q: Query): string | null {
  const j = json as {
    registered_models?: Array<{ name: string }>;
    model_versions?: Array<{ name: string; version: string; last_updated_timestamp: number | string }>;
    next_page_token?: string;
  };
  if (q.endpoint === 'registered-models/search') {
    const got = (j.registered_models ?? []).map((x) => x.name);
    if (got.length !== want.names.length) return `${got.length} rows, expected ${want.names.length}`;
    const bad = got.findIndex((n, i) => n !== want.names[i]);
    if (bad >= 0) return `row ${bad} is ${got[bad]}, expected ${want.names[bad]}`;
  } else {
    const rows = j.model_versions ?? [];
    const wantRows = Math.min(want.names.length, VERSIONS_PAGE);
    if (rows.length !== wantRows) return `${rows.length} rows, expected ${wantRows}`;
    const allowed = new Set(want.names);
    const seen = new Set<string>();
    for (const [i, v] of rows.entries()) {
      if (!allowed.has(v.name) || seen.has(v.name)) return `row ${i} is ${v.name}: not a matching model, or repeated`;
      seen.add(v.name);
      if (String(v.version) !== '1') return 'a version other than 1';
      const prev = rows[i - 1];
      if (prev) {
        const [a, b] = [Number(prev.last_updated_timestamp), Number(v.last_updated_timestamp)];
        if (a < b || (a === b && prev.name > v.name)) return `rows ${i - 1} and ${i} are not in last-update-descending, name order`;
      }
    }
  }
  if (Boolean(j.next_page_token) !== want.more) return `next_page_token ${j.next_page_token ? 'present' : 'absent'}, expected ${want.more ? 'present' : 'absent'}`;
  return null;
}

async function seed(ctx: RunContext, rg: Regate, reader: Identity, from: number, to: number): Promise<string> {
  const t0 = performance.now();
  const items = Array.from({ length: to - from }, (_, k) => from + k);
  await parallel(items, ctx.seedConcurrency, Date.now() + ctx.seedDeadlineMs, async (i) => {
    const name = modelName(i);
    await createModel(rg, rg.adminToken, name);
    const v = await ok(rg.url, 'POST', `${MV}/create`, { token: rg.adminToken, json: { name, source: `${SOURCE_PREFIX}${name}/1` } });
    if (String(v.json?.model_version?.version) !== '1') throw new Error(`model-versions/create for ${name}: ${v.text.slice(0, 200)}`);
    if (readable(i)) await grant(rg, rg.adminToken, await modelId(rg, rg.adminToken, name), reader.name, 'CAN_READ');
  });
  const s = (performance.now() - t0) / 1000;
  const grants = items.filter(readable).length;
  return `models ${from}–${to - 1}: ${to - from} × (registered-models/create + model-versions/create), ${grants} × (databricks/registered-models/get + Permissions PATCH CAN_READ for the reader) in ${s.toFixed(1)} s (${((to - from) / s).toFixed(0)} models/s, ${ctx.seedConcurrency} requests in flight)`;
}

export async function growthFigure(ctx: RunContext): Promise<Figure> {
  const title = 'Growth: search latency vs registry size';
  let rg: Regate | undefined;
  try {
    rg = await startRegate(join(ctx.workDir, 'regate-growth'), 'growth', { REGATE_EXTERNAL_SOURCE_PREFIXES: SOURCE_PREFIX });
    const reader = await makeUser(rg, 'reader@bench.example');
    const users: Array<{ label: GrowthRow['user']; token: string; reader: boolean }> = [
      { label: 'admin', token: rg.adminToken, reader: false },
      { label: 'reader (CAN_READ on 1 %)', token: reader.token, reader: true },
    ];
    const seeding: string[] = [];
    const rows: GrowthRow[] = [];
    let have = 0;
    for (const size of ctx.growthSizes) {
      ctx.log(`figure 5: seeding to ${size} models`);
      seeding.push(await seed(ctx, rg, reader, have, size));
      have = size;
      // Check every query against its expected first page, then warm it up.
      const cases = users.flatMap((u) => QUERIES.map((q) => ({ u, q, want: expected(size, q, u.reader), length: 0, ms: [] as number[][], rows: 0, more: false })));
      for (const c of cases) {
        const r = await call(url(rg, c.q), 'GET', url(rg, c.q), { token: c.u.token, timeoutMs: 120_000 });
        if (r.status !== 200) throw new Error(`${c.q.endpoint} (${c.u.label}, ${size}): status ${r.status}: ${r.text.slice(0, 300)}`);
        const problem = checkPage(r.json, c.want, c.q);
        if (problem) throw new Error(`${c.q.endpoint} ${c.q.filter || '(no filter)'} as ${c.u.label} at ${size} models: ${problem}`);
        c.length = r.bytes.byteLength;
        c.rows = c.want.names.length;
        c.more = c.want.more;
      }
      // Rounds over all cases, order reversed every other round; each case sampled sequentially within bounds.
      for (let round = 0; round < ctx.rounds; round++) {
        const order = round % 2 === 0 ? cases : [...cases].reverse();
        for (const c of order) {
          const headers = { Authorization: `Bearer ${c.u.token}` };
          const check = (status: number, body: Buffer) => (status !== 200 ? `status ${status}` : body.byteLength !== c.length ? `${body.byteLength} bytes, the checked answer had ${c.length}` : null);
          if (round === 0) await sampleSequential(url(rg, c.q), headers, { maxCount: 3, minCount: 1, maxMs: 2000, check });
          const s = await sampleSequential(url(rg, c.q), headers, { maxCount: ctx.growthMaxCount, minCount: ctx.growthMinCount, maxMs: ctx.growthMaxMs, check });
          c.ms.push(s.ms);
        }
      }
      for (const c of cases) {
        rows.push({
          models: size,
          user: c.u.label,
          endpoint: c.q.endpoint,
          filter: c.q.filter,
          rows: c.rows,
          more: c.more,
          p50: spread(c.ms.map((m) => percentile(m, 50))),
          p99: spread(c.ms.map((m) => percentile(m, 99))),
          samples: c.ms.reduce((n, m) => n + m.length, 0),
          growthP50: NaN,
        });
      }
      ctx.log(`  ${size} models: ${rows.filter((r) => r.models === size).map((r) => `${r.endpoint.split('/')[0]}${r.filter ? '+filter' : ''}/${r.user.split(' ')[0]} p50 ${r.p50.median.toFixed(1)} ms`).join(', ')}`);
    }
    const base = ctx.growthSizes[0];
    for (const r of rows) {
      const b = rows.find((x) => x.models === base && x.user === r.user && x.endpoint === r.endpoint && x.filter === r.filter);
      r.growthP50 = b ? r.p50.median / b.p50.median : NaN;
    }
    const fig: GrowthFigure = {
      kind: 'growth',
      id: '5',
      title,
      rows,
      seeding,
      checks: [
        'every query is first compared with its expected first page (models: exact names and order; versions: matching names, no repeats, version 1, in last-update-descending then name order; next_page_token present iff more rows match); every timed answer must be 200 with the same length',
        `per query and round: up to ${ctx.growthMaxCount} sequential requests on one keep-alive connection, at most ${ctx.growthMaxMs / 1000} s (at least ${ctx.growthMinCount}); ${ctx.rounds} round(s), order reversed every other round; p50/p99 per round, then median and min–max over rounds`,
        `regate: ${rg.command}`,
      ],
      command: `GET ${RM}/search?max_results=${MODELS_PAGE}[&filter=…] and ${MV}/search?max_results=${VERSIONS_PAGE}[&filter=…] (MLflow client defaults), Authorization: Bearer <admin or reader token>`,
    };
    return fig;
  } catch (e) {
    return { kind: 'failed', id: '5', title, error: String(e instanceof Error ? e.stack ?? e.message : e) };
  } finally {
    await rg?.child.stop();
  }
}
