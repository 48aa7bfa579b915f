/**
 * @module raw-get (test helper)
 * A GET with node:http on a fresh connection that reports how the response ended ('end' for a complete body,
 * else 'incomplete', 'aborted', 'closed early', an error), which `fetch` hides. Shared by the download tests
 * that buffer the body (s3-regate.ts's fetchRaw) and those that only count and hash it
 * (node/download-stream.test.ts), so both judge a cut-short download by the same rule.
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';

export interface RawGot {
  res: IncomingMessage;
  /** 'end' for a complete body; otherwise how it ended ('aborted', 'closed early', an error, or `stop`'s). */
  outcome: string;
}

/**
 * GETs `url`; `onChunk` sees each chunk as it arrives, and may end the wait at once with `stop(outcome)` (after
 * destroying `req` or `res`, as a client going away would).
 */
export function rawGet(
  url: string,
  headers: Record<string, string> = {},
  onChunk?: (chunk: Buffer, res: IncomingMessage, req: ClientRequest, stop: (outcome: string) => void) => void,
): Promise<RawGot> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      let done = false;
      const finish = (outcome: string) => {
        if (done) return;
        done = true;
        resolve({ res, outcome });
      };
      res.on('data', (chunk: Buffer) => onChunk?.(chunk, res, req, finish));
      res.on('end', () => finish(res.complete ? 'end' : 'incomplete'));
      res.on('aborted', () => finish('aborted'));
      res.on('error', (e) => finish(`error: ${e.message}`));
      res.on('close', () => finish(res.complete ? 'end' : 'closed early'));
    });
    req.on('error', reject);
    req.end();
  });
}
