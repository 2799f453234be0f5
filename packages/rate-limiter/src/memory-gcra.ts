/**
 * GCRA buckets in this process, the tenants' limits of `MemoryRequestLimiter` (exact for one
 * instance, and the `local` fallback while Redis is down). Internal: not exported from the package.
 *
 * State is one number per key (its TAT). Keys whose TAT is in the past are full buckets,
 * identical to keys never seen, so they are dropped by the sweep described in `sweep.ts`: the map
 * never exceeds `max(minSweepSize, 2 * L)` keys, where L is the largest number of keys
 * simultaneously not full (touched within their time-to-full) at a sweep.
 */
import { EPSILON_MS, assertCost, assertPolicy, toDecision } from './gcra.js';
import type { Clock, RateLimitDecision, RateLimitPolicy } from './interface.js';
import { SweptMap, type SweepOptions } from './sweep.js';

export class GcraBuckets {
  private readonly clock: Clock;
  /** Key -> TAT. Spent once the TAT is not in the future: the bucket is full again. */
  private readonly tats: SweptMap<number>;

  /** `clock` defaults to `performance` (monotonic, immune to wall-clock jumps). */
  constructor(options: SweepOptions & { clock?: Clock } = {}) {
    this.clock = options.clock ?? performance;
    this.tats = new SweptMap((tat, now) => tat <= now, options, this.clock.now());
  }

  /** Keys currently holding state (for metrics and tests). */
  get size(): number {
    return this.tats.size;
  }

  /**
   * Decide one request for `key` under `policy`, consuming `cost` units (default 1) if admitted.
   * `cost` must be finite and >= 0; `cost = 0` reads the key's state without consuming anything.
   * A key's state is one timestamp, independent of the policy: a changed policy applies to the
   * key's next call as is. Throws `RangeError` on an invalid policy or cost.
   */
  limit(key: string, policy: RateLimitPolicy, cost = 1): RateLimitDecision {
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
