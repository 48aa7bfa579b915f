/**
 * @module ab
 * A/B rounds with wrk: regate and its peer measured one after the other, order alternating per round (A,B then
 * B,A, ...), each side warmed up first. Every run must pass wrk's checks (no non-2xx/3xx, no socket error) and
 * the side's own check after the run, or the figure fails.
 */
import { runWrk, type WrkResult } from './wrk.ts';
import { spread, median, type Spread } from './stats.ts';

export interface Target {
  url: string;
  headers: Record<string, string>;
  /** What the results file shows instead of credentials. */
  shownUrl: string;
  shownHeaders: Record<string, string>;
  /** Expected mean size of an answer, headers included (checked on wrk's byte count). */
  bytesPerResponse?: { min?: number; max?: number };
}

export interface AbSide {
  name: string;
  /** The target of the next run (e.g. a signed URI minted just before it), checked for correctness. */
  prepare(): Promise<Target>;
  /** A check after each run (e.g. the answer is still right); throws on failure. */
  verify?(t: Target): Promise<void>;
}

export interface AbSettings {
  rounds: number;
  seconds: number;
  warmSeconds: number;
  threads: number;
  connections: number;
  log: (msg: string) => void;
}

export interface SideStats {
  name: string;
  runs: WrkResult[];
  rps: Spread;
  p50: Spread;
  p99: Spread;
}

export interface AbResult {
  regate: SideStats;
  peer: SideStats;
  /** median regate req/s ÷ median peer req/s. */
  ratio: number;
  /** The ratio of each round (same round, back to back). */
  roundRatios: Spread;
  order: string[];
  command: string;
}

function stats(name: string, runs: WrkResult[]): SideStats {
  return {
    name,
    runs,
    rps: spread(runs.map((r) => r.rps)),
    p50: spread(runs.map((r) => r.p50ms)),
    p99: spread(runs.map((r) => r.p99ms)),
  };
}

export async function abRounds(s: AbSettings, regate: AbSide, peer: AbSide): Promise<AbResult> {
  const wrk = (t: Target, seconds: number) =>
    runWrk(
      { url: t.url, headers: t.headers, threads: s.threads, connections: s.connections, seconds, ...(t.bytesPerResponse ? { bytesPerResponse: t.bytesPerResponse } : {}) },
      t.shownHeaders,
      t.shownUrl,
    );
  for (const side of [regate, peer]) {
    s.log(`  warm-up ${side.name} (${s.warmSeconds} s)`);
    const t = await side.prepare();
    await wrk(t, s.warmSeconds);
    await side.verify?.(t);
  }
  const runs = new Map<AbSide, WrkResult[]>([
    [regate, []],
    [peer, []],
  ]);
  const order: string[] = [];
  let command = '';
  for (let round = 0; round < s.rounds; round++) {
    const sides = round % 2 === 0 ? [regate, peer] : [peer, regate];
    for (const side of sides) {
      const t = await side.prepare();
      const r = await wrk(t, s.seconds);
      await side.verify?.(t);
      s.log(`  round ${round + 1} ${side.name}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50ms.toFixed(2)} ms, p99 ${r.p99ms.toFixed(2)} ms`);
      runs.get(side)!.push(r);
      order.push(side.name);
      if (side === regate) command = r.command;
    }
  }
  const a = stats(regate.name, runs.get(regate)!);
  const b = stats(peer.name, runs.get(peer)!);
  return {
    regate: a,
    peer: b,
    ratio: median(a.runs.map((r) => r.rps)) / median(b.runs.map((r) => r.rps)),
    roundRatios: spread(a.runs.map((r, i) => r.rps / b.runs[i]!.rps)),
    order,
    command,
  };
}
