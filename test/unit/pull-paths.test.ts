/**
 * The puller never writes outside its directory, whatever a manifest says: paths that climb out, are absolute,
 * or carry empty, `.` or backslash segments are refused and the file is named as failed; the others land
 * under DIR. The manifest here comes from a fake server (a fetch function), which is the point: a hostile or
 * broken one.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { destinationOf, pull } from '../../src/cli/pull.ts';
import { parseModelUri } from '../../src/cli/manifest-client.ts';
import { main } from '../../src/cli/regate.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A fresh directory, removed after the file's tests. */
async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

type ManifestFile = { path: string; size: number; sha256: string | null; signed_uri: string };

/** A fake regate (a fetch function): the manifest of model m version 1 lists `files`; every other URL is a download, answered by `download`. */
function fakeServer(files: ManifestFile[], download: (url: string) => Response) {
  return async (input: string | URL) => {
    const u = String(input);
    if (u.includes('/manifest')) return Response.json({ name: 'm', version: '1', expires_in: 300, files });
    return download(u);
  };
}

describe('regate pull: paths', () => {
  it('maps safe manifest paths under DIR and refuses the rest', () => {
    expect(destinationOf('/out', 'a/b.bin')).toBe(resolve('/out/a/b.bin'));
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a//b', './a', 'a\\b', '', 'a/.', 'a\0b']) expect(destinationOf('/out', bad), bad).toBeNull();
  });

  it('parses models:/NAME/VERSION, with an escaped name', () => {
    expect(parseModelUri('models:/my%20model/3')).toEqual({ name: 'my model', version: '3' });
    expect(parseModelUri('models:/m/Production')).toEqual({ name: 'm', version: 'Production' });
    expect(() => parseModelUri('runs:/abc/model')).toThrow(/models:\/NAME\/VERSION/);
  });

  it('a manifest naming ../evil: that file fails, nothing is written outside DIR, the good file lands', async () => {
    const parent = await tempDir('regate-pull-paths-');
    const body = 'ok';
    const hex = createHash('sha256').update(body).digest('hex');
    const fakeFetch = fakeServer(
      [
        { path: '../evil', size: 2, sha256: hex, signed_uri: 'http://x.test/dl?p=evil' },
        { path: 'good.txt', size: 2, sha256: hex, signed_uri: 'http://x.test/dl?p=good' },
      ],
      () => new Response(body, { status: 200 }),
    );
    const r = await pull({ host: 'http://x.test', token: 't', modelUri: 'models:/m/1', dir: join(parent, 'out'), fetch: fakeFetch });
    expect(r.failed).toEqual([{ path: '../evil', error: "unsafe path in manifest: '../evil'" }]);
    expect((await readdir(parent)).sort()).toEqual(['out']);
    expect(await readdir(join(parent, 'out'))).toEqual(['good.txt']);
  });

  it('a file without a recorded digest is checked by size and reported unverified; a stated digest that contradicts the manifest fails', async () => {
    const parent = await tempDir('regate-pull-nodigest-');
    const hex = createHash('sha256').update('abc').digest('hex');
    const fakeFetch = fakeServer(
      [
        { path: 'old.bin', size: 3, sha256: null, signed_uri: 'http://x.test/dl?p=old' },
        { path: 'liar.bin', size: 3, sha256: hex, signed_uri: 'http://x.test/dl?p=liar' },
      ],
      (u) => new Response('abc', { status: 200, headers: u.includes('liar') ? { 'x-regate-sha256': '0'.repeat(64) } : {} }),
    );
    const r = await pull({ host: 'http://x.test', token: 't', modelUri: 'models:/m/1', dir: join(parent, 'out'), fetch: fakeFetch, retryDelayMs: () => 0 });
    expect(r.unverified).toEqual(['old.bin']);
    expect(r.failed).toEqual([{ path: 'liar.bin', error: `server states SHA-256 ${'0'.repeat(64)}, manifest says ${hex}` }]);
    expect(await readdir(join(parent, 'out'))).toEqual(['old.bin']);
  });

  it('the command answers 2 for usage errors and missing credentials, before any request', async () => {
    expect(await main(['pull'], {})).toBe(2);
    expect(await main(['fetch', 'models:/m/1', 'd'], { DATABRICKS_HOST: 'http://x', DATABRICKS_TOKEN: 't' })).toBe(2);
    expect(await main(['pull', 'models:/m/1', 'd', '--concurrency', '0'], { DATABRICKS_HOST: 'http://x', DATABRICKS_TOKEN: 't' })).toBe(2);
    expect(await main(['pull', 'models:/m/1', 'd'], {})).toBe(2);
  });
});
