/**
 * @module pages-timing
 * Time and size of the pages in-process (real SQLite in memory), with the API search of the same 50 models
 * measured in the same run as the peer: `node bench/pages-timing.ts`. Correctness first: every answer must be 200.
 */
import { makeHarness } from '../test/helpers/harness.ts';
import { pageClient } from '../test/helpers/page-client.ts';
const h = await makeHarness();
const owner = await h.user('owner@x');
for (let i = 0; i < 50; i++) await h.expectOk('POST', '/api/2.0/mlflow/registered-models/create', { token: owner.token, body: { name: `m${i}` } });
for (let v = 0; v < 10; v++) await h.expectOk('POST', '/api/2.0/mlflow/model-versions/create', { token: owner.token, body: { name: 'm0', source: `s3://b/${v}` } });
const p = pageClient(h);
await p.signIn(owner.token);
// Statements prepared per request (a batch's statements each count), warm: what a D1 round trip would cost.
let prepared = 0;
const prepare = h.deps.db.prepare.bind(h.deps.db);
h.deps.db.prepare = (sql: string) => { prepared++; return prepare(sql); };
async function time(label: string, f: () => Promise<{ text: string; status: number }>) {
  for (let i = 0; i < 20; i++) await f();
  prepared = 0;
  await f();
  const statements = prepared;
  const n = 200; const t0 = performance.now(); let bytes = 0;
  for (let i = 0; i < n; i++) { const r = await f(); if (r.status !== 200) throw new Error(label + r.status); bytes = r.text.length; }
  console.log(`${label}: ${((performance.now() - t0) / n).toFixed(2)} ms/request, ${bytes} bytes, ${statements} SQL statements`);
}
await time('GET /ui/models (50 models)', () => p.send('GET', '/ui/models'));
await time('GET /api registered-models/search (50 models, peer)', () => h.call('GET', '/api/2.0/mlflow/registered-models/search', { token: owner.token, query: { max_results: '50' } }));
await time('GET /ui/model (10 versions)', () => p.send('GET', '/ui/model?name=m0'));
await time('GET /ui/permissions (model)', () => p.send('GET', '/ui/permissions?model=m0'));
process.exit(0);
