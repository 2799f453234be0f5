/**
 * In-process GCRA limiter: exact for one instance, and the `local` fallback when Redis is down.
 *
 * State is one number per key (its TAT). Keys whose TAT is in the past are full buckets,
 * identical to keys never seen, so they are dropped by the sweep described in `sweep.ts`: the map
 * never exceeds `max(minSweepSize, 2 * L)` keys, where L is the largest number of keys
 * simultaneously not full (touched within their time-to-full) at a sweep.
 */
import { EPSILON_MS, assertCost, assertPolicy, toDecision } from './gcra.js';
import type { Clock, RateLimitDecision, RateLimitPolicy, RateLimiter } from './interface.js';
import { SweptMap, type SweepOptions } from './sweep.js';

export interface MemoryRateLimiterOptions extends SweepOptions {
  /** Millisecond clock; defaults to `performance` (monotonic, immune to wall-clock jumps). */
  clock?: Clock;
}

export class MemoryRateLimiter implements RateLimiter {
  private readonly clock: Clock;
  /** Key -> TAT. Spent once the TAT is not in the future: the bucket is full again. */
  private readonly tats: SweptMap<number>;

  constructor(options: MemoryRateLimiterOptions = {}) {
    this.clock = options.clock ?? performance;
    this.tats = new SweptMap((tat, now) => tat <= now, options, this.clock.now());
  }

  /** Keys currently holding state (for metrics and tests). */
  get size(): number {
    return this.tats.size;
  }

  async limit(key: string, policy: RateLimitPolicy, cost = 1): Promise<RateLimitDecision> {
    return this.limitNow(key, policy, cost);
  }

  /** `limit`, answered at once: the state is in this process. */
  limitNow(key: string, policy: RateLimitPolicy, cost = 1): RateLimitDecision {
    assertPolicy(policy);
    assertCost(cost);
    const now = this.clock.now();
    this.tats.tick(now);

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
    return this.tats.sweep(this.clock.now());
  }
}
