/**
 * @module s3-use-server
 * The S3 server (s3-server.ts) for one vitest file: started in beforeAll, stopped in afterAll, so no server
 * outlives its file. Apart from s3-server.ts, which the benchmark imports outside vitest.
 */
import { afterAll, beforeAll } from 'vitest';
import { startS3Server, type S3Server } from './s3-server.ts';

/**
 * One server for the calling test file: started in beforeAll, stopped in afterAll. Returns a getter (the server
 * exists only once beforeAll has run).
 * @example const s3 = useS3Server(); it('…', async () => { const r = await startS3Regate(s3()); … })
 */
export function useS3Server(): () => S3Server {
  let server: S3Server | undefined;
  beforeAll(async () => {
    server = await startS3Server();
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('useS3Server: the server is not started (use it inside tests).');
    return server;
  };
}
