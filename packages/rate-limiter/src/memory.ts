/**
 * In-process GCRA limiter: exact for one instance, and the `local` fallback when Redis is down.
 *
 * State is one number per key (its TAT) in a `Map`. Keys whose TAT is in the past are full
 * buckets, identical to keys never seen, so deleting them changes no decision. They are swept:
 *
 * - when the map has grown to twice its size after the previous sweep (at least `minSweepSize`):
 *   each sweep of n entries follows >= n/2 insertions, so sweeping is amortized O(1) per call,
 *   and the map never exceeds `max(minSweepSize, 2 * L)` entries, where L is the largest number
 *   of keys simultaneously not full (touched within their time-to-full) at a sweep;
 * - at most every `sweepIntervalMs` (checked on calls, no timer) so memory left by a burst of
 *   one-off keys is given back once traffic settles, even if the map never doubles again.
 *
 * Why not a size cap with LRU eviction: evicting a key that is not yet full forgets what it
 * consumed and hands it a full bucket, i.e. makes the limit looser than configured. The sweep
 * only ever drops state that carries no information, so the bound comes from the live key count
 * (tenants x time-to-full), which is what the limit actually needs to remember.
 */
import { EPSILON_MS, assertCost, assertPolicy, toDecision } from './gcra.js';
import type { Clock, RateLimitDecision, RateLimitPolicy, RateLimiter } from './interface.js';

export interface MemoryRateLimiterOptions {
  /** Millisecond clock; defaults to `performance` (monotonic, immune to wall-clock jumps). */
  clock?: Clock;
  /** No growth-triggered sweep below this many keys. Default 1024. */
  minSweepSize?: number;
  /** Also sweep when this much clock time has passed since the last sweep. Default 60 000. */
  sweepIntervalMs?: number;
}

export class MemoryRateLimiter implements RateLimiter {
  private readonly tats = new Map<string, number>();
  private readonly clock: Clock;
  private readonly minSweepSize: number;
  private readonly sweepIntervalMs: number;
  private sweepAtSize: number;
  private sweepAtTime: number;

  constructor(options: MemoryRateLimiterOptions = {}) {
    this.clock = options.clock ?? performance;
    this.minSweepSize = options.minSweepSize ?? 1024;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    this.sweepAtSize = this.minSweepSize;
    this.sweepAtTime = this.clock.now() + this.sweepIntervalMs;
  }

  /** Keys currently holding state (for metrics and tests). */
  get size(): number {
    return this.tats.size;
  }

  async limit(key: string, policy: RateLimitPolicy, cost = 1): Promise<RateLimitDecision> {
    assertPolicy(policy);
    assertCost(cost);
    const now = this.clock.now();
    // Checked before a possible insert, so size <= sweepAtSize holds after every call.
    if (this.tats.size >= this.sweepAtSize || now >= this.sweepAtTime) this.sweepAt(now);

    const intervalMs = 1000 / policy.rate;
    const stored = this.tats.get(key);
    const tat = stored !== undefined && stored > now ? stored : now;
    if (cost > policy.burst) {
      return toDecision(false, policy, cost, tat - now, Number.POSITIVE_INFINITY);
    }
    const newTat = tat + cost * intervalMs;
    const untilAllowed = newTat - policy.burst * intervalMs - now;
    if (untilAllowed > EPSILON_MS) {
      return toDecision(false, policy, cost, tat - now, untilAllowed);
    }
    if (cost > 0) this.tats.set(key, newTat);
    return toDecision(true, policy, cost, newTat - now, 0);
  }

  /** Drop every key whose bucket is full again; returns how many were dropped. */
  sweep(): number {
    return this.sweepAt(this.clock.now());
  }

  private sweepAt(now: number): number {
    let removed = 0;
    for (const [key, tat] of this.tats) {
      if (tat <= now) {
        this.tats.delete(key);
        removed++;
      }
    }
    this.sweepAtSize = Math.max(this.minSweepSize, 2 * this.tats.size);
    this.sweepAtTime = now + this.sweepIntervalMs;
    return removed;
  }
}
