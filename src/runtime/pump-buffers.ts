/**
 * @module pump-buffers
 * The read buffers of the download pump (node-body.ts), with a process-wide budget. A buffer handed to the
 * socket stays pinned until the client has taken its bytes, so a client that never reads keeps the whole
 * buffer for as long as its connection lives (until the send timeout). With a 1 MiB buffer per response,
 * 1,500 such clients held 1.5 GiB. So:
 * - 1 MiB buffers (the fast read size, performance-notes §2.1) come from a budget of BIG_BUDGET in use at once,
 *   process-wide; a response that finds the budget spent reads into SMALL_CHUNK buffers instead, which costs
 *   some CPU per byte but no more memory. Stalled responses can hold the whole budget, never more.
 * - A response holds at most two buffers (one being written, one being read), so a stalled connection pins at
 *   most 2 × SMALL_CHUNK once the budget is spent, and memory is BIG_BUDGET MiB + connections × 128 KiB at most.
 * - Buffers whose write completed go back to a small pool; one whose write never completed (the connection was
 *   destroyed) is left to the garbage collector, but its place in the budget is given back when the response
 *   ends, so a failed write never shrinks the budget.
 */

/** The fast read size: the fs store's read size. */
export const PUMP_CHUNK = 1024 * 1024;
/** The read size once the budget of fast buffers is spent. */
export const SMALL_CHUNK = 64 * 1024;
/** 1 MiB buffers in use at once, process-wide (32 MiB). */
export const BIG_BUDGET = 32;
/** Below this many bytes left, a read takes a buffer of just that size from Node's shared slab. */
const TINY = SMALL_CHUNK;
/** Idle buffers kept for reuse. */
const BIG_POOL_MAX = 16;
const SMALL_POOL_MAX = 64;

const bigPool: Buffer[] = [];
const smallPool: Buffer[] = [];
let bigOut = 0;
let smallOut = 0;

/** Buffers in use now (for tests and benchmarks). */
export function pumpBufferStats(): { bigOut: number; smallOut: number; bytesOut: number } {
  return { bigOut, smallOut, bytesOut: bigOut * PUMP_CHUNK + smallOut * SMALL_CHUNK };
}

/** The buffers of one response: take one per read, give it back when its write is done, `end()` once. */
export class BufferLease {
  /** Buffers taken from the budget and not yet returned. */
  readonly #held = new Set<Buffer>();

  /** A buffer for the next read of a response with `left` bytes to go. */
  take(left: number): Buffer {
    if (left < TINY) return Buffer.allocUnsafe(left); // small ranges and files: Node's slab, no budget
    let buf: Buffer;
    if (bigOut < BIG_BUDGET) {
      buf = bigPool.pop() ?? Buffer.allocUnsafeSlow(PUMP_CHUNK);
      bigOut++;
    } else {
      buf = smallPool.pop() ?? Buffer.allocUnsafeSlow(SMALL_CHUNK);
      smallOut++;
    }
    this.#held.add(buf);
    return buf;
  }

  /** The socket is done with `buf` (or it was never written): back to the pool. */
  give(buf: Buffer): void {
    if (!this.#held.delete(buf)) return; // a slab buffer, or already accounted for by end()
    if (buf.length === PUMP_CHUNK) {
      bigOut--;
      if (bigPool.length < BIG_POOL_MAX) bigPool.push(buf);
    } else {
      smallOut--;
      if (smallPool.length < SMALL_POOL_MAX) smallPool.push(buf);
    }
  }

  /**
   * The response is over. Buffers still held are in a write that will never complete normally (the socket is
   * gone): never reused, left to the garbage collector, their places in the budget given back.
   */
  end(): void {
    for (const buf of this.#held) {
      if (buf.length === PUMP_CHUNK) bigOut--;
      else smallOut--;
    }
    this.#held.clear();
  }
}
