/**
 * Multipart uploads a crash left open in the bucket are aborted by the Node entry's sweeps once untouched for
 * the temp age (S3ObjectStore.sweepTemp via node-sweeps.ts), against the real S3 server: an upload of this
 * process still in flight is spared whatever its age, and a fresh one is spared by its age. Ages are checked
 * by passing a later "now", since S3 sets an upload's start time itself.
 */
import { CreateBucketCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeS3Client, parseS3Config } from '../../src/adapters/s3/s3-config.ts';
import { S3ObjectStore } from '../../src/adapters/s3/s3-object-store.ts';
import { SqliteDb } from '../../src/adapters/sqlite/sqlite-db.ts';
import { systemClock } from '../../src/core/clock.ts';
import { applyMigrations } from '../../src/core/migrate.ts';
import { createNodeDeps, readMigrations } from '../../src/runtime/node-deps.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSweeps } from '../../src/runtime/node-sweeps.ts';
import { startFaultProxy, type Answer } from '../helpers/s3-fault-proxy.ts';
import { startS3Server, type S3Server } from '../helpers/s3-server.ts';
import { equalBytes, pattern, readAll } from '../helpers/streams.ts';

const MiB = 1024 * 1024;
const HOUR = 3_600_000;
let server: S3Server;
let client: S3Client;
let buckets = 0;

beforeAll(async () => {
  server = await startS3Server();
  client = makeS3Client(parseS3Config({ REGATE_S3_BUCKET: 'unused', ...server.env })!);
}, 30_000);
afterAll(async () => {
  client?.destroy();
  await server?.stop();
});

async function bucketWithStore() {
  const bucket = `regate-sweep-${process.pid}-${++buckets}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return { bucket, store: new S3ObjectStore({ client, bucket, partSize: 5 * MiB }) };
}

/** What a process killed mid-upload leaves: an open multipart upload with one part. */
async function crashedUpload(bucket: string, key: string): Promise<string> {
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: pattern(5 * MiB, 1) }));
  return UploadId!;
}

async function openUploads(bucket: string): Promise<string[]> {
  return ((await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).map((u) => u.Key!).sort();
}

/** A put of 5 MiB + 1 MiB whose body then waits for `release()`: its multipart upload is open meanwhile. */
function heldPut(store: S3ObjectStore, key: string) {
  let release!: () => void;
  let opened!: () => void;
  const isOpen = new Promise<void>((r) => (opened = r));
  const released = new Promise<void>((r) => (release = r));
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (sent === 6 * MiB) {
        // The first part is read and the upload created: it is in flight now.
        opened();
        await released;
        return c.close();
      }
      c.enqueue(pattern(MiB, sent));
      sent += MiB;
    },
  });
  const done = store.put(key, body);
  return { isOpen, release, done };
}

describe('stale multipart uploads on S3', () => {
  it('sweepTemp aborts uploads untouched for the age, never a fresh one or one this process is writing', async () => {
    const { bucket, store } = await bucketWithStore();
    await crashedUpload(bucket, 'uploads/1/crashed/a.bin');
    await crashedUpload(bucket, 'registry/x/models/m/b.bin');
    const held = heldPut(store, 'uploads/1/live/c.bin');
    await held.isOpen;
    expect(await openUploads(bucket)).toEqual(['registry/x/models/m/b.bin', 'uploads/1/crashed/a.bin', 'uploads/1/live/c.bin']);

    // Now, every upload is younger than an hour.
    expect(await store.sweepTemp(HOUR, Date.now())).toBe(0);
    expect(await openUploads(bucket)).toHaveLength(3);

    // Two hours later: the crashed ones go, the one in flight stays and completes.
    expect(await store.sweepTemp(HOUR, Date.now() + 2 * HOUR)).toBe(2);
    expect(await openUploads(bucket)).toEqual(['uploads/1/live/c.bin']);
    held.release();
    const meta = await held.done;
    expect(meta.size).toBe(6 * MiB);
    const whole = new Uint8Array(6 * MiB);
    for (let i = 0; i < 6; i++) whole.set(pattern(MiB, i * MiB), i * MiB);
    expect(equalBytes(await readAll((await store.get('uploads/1/live/c.bin')).body), whole)).toBe(true);
    expect(await openUploads(bucket)).toEqual([]);
    expect(await store.sweepTemp(HOUR, Date.now() + 2 * HOUR)).toBe(0);
  });

  it('an upload started long ago but with a recent part is alive (another replica still writing it)', async () => {
    const { bucket } = await bucketWithStore();
    await crashedUpload(bucket, 'uploads/2/slow/d.bin');
    // S3 sets the times itself: the proxy makes the upload's start two hours old, and then its part too.
    const proxy = await startFaultProxy(server.endpoint);
    const c = makeS3Client(parseS3Config({ REGATE_S3_BUCKET: bucket, ...server.env, REGATE_S3_ENDPOINT: proxy.endpoint })!);
    const twoHoursAgo = new Date(Date.now() - 2 * HOUR).toISOString();
    const aging = (tag: string) => (a: Answer): Answer => {
      const body = Buffer.from(a.body.toString().replace(new RegExp(`<${tag}>[^<]*</${tag}>`, 'g'), `<${tag}>${twoHoursAgo}</${tag}>`));
      return { ...a, body, headers: { ...a.headers, 'content-length': String(body.length) } };
    };
    proxy.rules.push({ match: (r) => r.method === 'GET' && /\?uploads(&|=|$)/.test(r.url), fault: { kind: 'rewrite', edit: aging('Initiated') } });
    try {
      const store = new S3ObjectStore({ client: c, bucket });
      expect(await store.sweepTemp(HOUR, Date.now())).toBe(0);
      expect(await openUploads(bucket)).toEqual(['uploads/2/slow/d.bin']);
      proxy.rules.push({ match: (r) => r.method === 'GET' && /[?&]uploadId=/.test(r.url), fault: { kind: 'rewrite', edit: aging('LastModified') } });
      expect(await store.sweepTemp(HOUR, Date.now())).toBe(1);
      expect(await openUploads(bucket)).toEqual([]);
      expect(proxy.stats.faulted).toBe(3); // both listings of uploads, the second listing of parts
    } finally {
      c.destroy();
      await proxy.close();
    }
  });

  it('the Node sweeps (node-sweeps.ts) run it over the S3 store at start', async () => {
    const { bucket, store } = await bucketWithStore();
    await crashedUpload(bucket, 'uploads/3/crashed/e.bin');
    const db = new SqliteDb(':memory:');
    await applyMigrations(db, readMigrations(), Date.now());
    const logged: Array<[string, Record<string, unknown>]> = [];
    const logger = { info: (e: string, f: Record<string, unknown> = {}) => void logged.push([e, f]), warn() {}, error() {} };
    // Age 0: anything not in flight is stale (the default is an hour).
    const sweeps = await startSweeps({ store, db, clock: systemClock, logger }, { tempAgeMs: 0, intervalMs: 0 });
    try {
      expect(await openUploads(bucket)).toEqual([]);
      expect(logged).toContainEqual(['temp_files_removed', { count: 1 }]);
      expect(await sweeps.run()).toEqual({ tempFiles: 0, orphanObjects: 0 });
    } finally {
      sweeps.stop();
      db.close();
    }
  });

  it('the Node entry (createNodeDeps) starts the sweeps when the artifacts are on S3', async () => {
    const { bucket } = await bucketWithStore();
    await crashedUpload(bucket, 'uploads/4/crashed/f.bin');
    const dataDir = await mkdtemp(join(tmpdir(), 'regate-s3-sweeps-'));
    const env = { ...server.env, REGATE_S3_BUCKET: bucket, REGATE_SWEEP_TEMP_AGE_SECONDS: '0', REGATE_SWEEP_INTERVAL_SECONDS: '0' };
    const logger = { info() {}, warn() {}, error() {} };
    const made = await createNodeDeps({ dataDir, env, logger });
    try {
      expect(made.sweeps).toBeDefined();
      expect(await openUploads(bucket)).toEqual([]);
    } finally {
      await made.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
