/**
 * @module download-limits
 * Time budgets of the download route. Both stay under MLflow's 10 s per-request read timeout
 * (range-and-signing §4.1), so a stuck upstream turns into an error the client retries, not a client timeout.
 */
export interface DownloadLimits {
  /** Storage must start answering (headers / first byte) within this; otherwise 504. */
  ttfbMs?: number;
  /** Longest wait for the next chunk once the body is flowing; otherwise the connection is aborted. */
  idleMs?: number;
  /** Longest token lifetime (exp - iat) accepted, seconds; capped at 900. */
  maxTtlSeconds?: number;
}

export const DEFAULT_TTFB_MS = 8000;
export const DEFAULT_IDLE_MS = 8000;
