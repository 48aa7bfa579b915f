/**
 * Raw request targets, sent byte for byte over a socket to the Node entry (fetch and `new Request()` would
 * normalise them first): dot segments, repeated slashes, encoded slashes and backslashes are refused before
 * routing, with or without credentials.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRawTargetServer, type RawTargetServer } from '../helpers/raw-target-server.ts';

let srv: RawTargetServer;
beforeAll(async () => {
  srv = await startRawTargetServer();
});
afterAll(() => srv.close());

const get = (path: string, auth: boolean) => srv.send('GET', path, auth);

describe('raw targets on a real socket', () => {
  it('the canonical path works', async () => {
    expect((await get('/api/2.0/preview/scim/v2/Me', true)).status).toBe(200);
  });

  it.each([
    '/api/2.0/preview/scim/v2/./Me',
    '/api/2.0/preview/x/../scim/v2/Me',
    '/api/2.0/preview/scim/v2/Me/..',
    '//api/2.0/preview/scim/v2/Me',
    '/api/2.0//preview/scim/v2/Me',
    '/api/2.0/preview/scim%2Fv2/Me',
    '/api/2.0/preview/scim/v2/%2e%2e/v2/Me',
    '/api/2.0/preview/scim/v2/%252e%252e/Me',
    '/api/2.0/preview\\scim/v2/Me',
    '/api/2.0/preview/scim%5Cv2/Me',
  ])('%s is refused with or without credentials', async (path) => {
    for (const auth of [true, false]) {
      const r = await get(path, auth);
      expect(r.status, `${path} auth=${auth}`).toBe(400);
    }
  });
});
