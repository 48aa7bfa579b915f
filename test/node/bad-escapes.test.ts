/**
 * Malformed percent-escapes sent byte for byte over a socket to the Node entry (whose path guard reads the
 * raw `incoming.url`): 400 INVALID_PARAMETER_VALUE in the path or the query, never a 500.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRawTargetServer, type RawTargetServer } from '../helpers/raw-target-server.ts';

let srv: RawTargetServer;
beforeAll(async () => {
  srv = await startRawTargetServer();
});
afterAll(() => srv.close());

const send = (method: string, path: string) => srv.send(method, path);

describe('malformed escapes on a real socket', () => {
  it.each([
    ['GET', '/dbfs/%c0%ae%c0%ae/x'],
    ['POST', '/dbfs/%c0%ae%c0%ae/x'],
    ['POST', '/dbfs/databricks/mlflow/tmp-external-source/a/%ff'],
    ['POST', '/dbfs/databricks/mlflow/tmp-external-source//a/%ZZ'],
    ['GET', '/api/2.0/dbfs/list?path=/databricks/mlflow/tmp-external-source/%ff'],
    ['GET', '/api/2.0/mlflow/registered-models/get?name=%ZZ'],
    ['GET', '/api/2.0/regate/artifacts/download?mid=%ff&ver=1&p=x&t=y'],
  ])('%s %s → 400', async (method, path) => {
    const r = await send(method, path);
    expect(r.status, r.body).toBe(400);
    expect(JSON.parse(r.body).error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('a well-formed escape still works', async () => {
    expect((await send('POST', '/dbfs/databricks/mlflow/tmp-external-source/a/caf%C3%A9')).status).toBe(200);
  });
});
