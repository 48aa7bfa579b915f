/**
 * @module publish-file
 * The setup figures 7 and 8 share, over regate's HTTP API only: a creator creates a model, uploads a large local
 * file as `model/<file>` by raw DBFS POST (curl -T streams it from disk, nothing held in memory), registers it
 * (model-versions/create copies it into managed storage), and grants a reader CAN_READ. Returns the reader's
 * signed URI and the storage key of the managed copy (from the version's artifact_uri), so a peer can read the
 * very same object from the store. One copy of this, so both figures download what a user would.
 */
import { randomBytes } from 'node:crypto';
import { ok } from './http.ts';
import { runAsync } from './procs.ts';
import { createModel, grant, makeUser, modelId, MV, UPLOAD_AREA, type Regate } from './regate.ts';

export interface PublishedFile {
  /** Absolute signed download URI for the reader. */
  signedUrl: string;
  /** The managed copy's key in the object store: `registry/<storage id>/models/<dir>/<file>`. */
  key: string;
  version: string;
}

export interface PublishOptions {
  model: string;
  /** Path of the file under the model directory, e.g. `data/weights.bin`. */
  file: string;
  /** The local file uploaded. */
  blob: string;
  /** Progress lines (the figure's log prefix is the caller's). */
  log: (msg: string) => void;
}

/** Creates users, model and version, and returns what both sides of a download figure need. */
export async function publishFile(rg: Regate, o: PublishOptions): Promise<PublishedFile> {
  const creator = await makeUser(rg, 'creator@bench.example');
  const reader = await makeUser(rg, 'reader@bench.example');
  await createModel(rg, creator.token, o.model);
  const uploadId = randomBytes(8).toString('hex');
  await ok(rg.url, 'POST', `/dbfs${UPLOAD_AREA}/${uploadId}/model/MLmodel`, { token: creator.token, raw: 'artifact_path: model\nflavors: {}\n' });
  o.log(`uploading ${o.file} through regate`);
  const up = await runAsync(
    'curl',
    ['-sS', '-X', 'POST', '-T', o.blob, '-H', `Authorization: Bearer ${creator.token}`, '-o', '/dev/null', '-w', '%{http_code}', `${rg.url}/dbfs${UPLOAD_AREA}/${uploadId}/model/${o.file}`],
    { timeoutMs: 15 * 60_000 },
  );
  if (up.stdout.trim() !== '200') throw new Error(`upload answered ${up.stdout.trim() || up.stderr}:\n${rg.child.tail()}`);
  o.log('registering (model-versions/create copies the file into managed storage)');
  const created = await ok(rg.url, 'POST', `${MV}/create`, { token: creator.token, json: { name: o.model, source: `dbfs:${UPLOAD_AREA}/${uploadId}/model` }, timeoutMs: 15 * 60_000 });
  const mv = created.json?.model_version;
  if (mv?.status !== 'READY') throw new Error(`model-versions/create answered ${created.text.slice(0, 300)}`);
  const version = String(mv.version);
  await grant(rg, creator.token, await modelId(rg, creator.token, o.model), reader.name, 'CAN_READ');
  const signed = await ok(rg.url, 'GET', `${MV}/get-signed-download-uri`, { token: reader.token, query: { name: o.model, version, path: o.file } });
  const signedUrl = new URL(String(signed.json.signed_uri), rg.url).toString();
  // The version's managed location (`dbfs:/databricks/mlflow-registry/<storage id>/models/<dir>`) names its keys.
  const got = await ok(rg.url, 'GET', `${MV}/get-download-uri`, { token: reader.token, query: { name: o.model, version } });
  const loc = /^dbfs:\/databricks\/mlflow-registry\/([^/]+)\/models\/(.+)$/.exec(String(got.json?.artifact_uri ?? ''));
  if (!loc) throw new Error(`no managed artifact_uri in model-versions/get-download-uri: ${got.text.slice(0, 300)}`);
  return { signedUrl, key: `registry/${loc[1]}/models/${loc[2]}/${o.file}`, version };
}
