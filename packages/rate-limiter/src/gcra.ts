/**
 * GCRA arithmetic shared by the in-process buckets (`memory-gcra.ts`) and `RedisRequestLimiter`
 * (its Lua mirrors the admission rule; see `redis-lua.ts`). Internal: not exported from the package.
 */
import type { RateLimitDecision, RateLimitPolicy } from './interface.js';

/**
 * Slack for float comparisons, in ms. Absolute timestamps around 1.7e12 ms (Redis `TIME`,
 * `Date.now()`) have a float spacing of ~2.4e-4 ms, so a request arriving exactly on its slot
 * could otherwise be denied by rounding noise. The slack lets a request in at most 1 µs early;
 * it never accumulates, because the stored TAT still advances by exactly `cost * T`.
 */
export const EPSILON_MS = 1e-3;

export function assertPolicy(policy: RateLimitPolicy): void {
  const { rate, burst } = policy;
  if (!(Number.isFinite(rate) && rate > 0)) {
    throw new RangeError(`rate limit policy: rate must be a finite number > 0, got ${rate}`);
  }
  if (!(Number.isInteger(burst) && burst >= 1)) {
    throw new RangeError(`rate limit policy: burst must be an integer >= 1, got ${burst}`);
  }
}

export function assertCost(cost: number): void {
  if (!(Number.isFinite(cost) && cost >= 0)) {
    throw new RangeError(`rate limit cost must be a finite number >= 0, got ${cost}`);
  }
}

/**
 * Build the public decision from the raw GCRA outcome.
 * `untilFullMs` is `max(TAT, now) - now` after the decision; `untilAllowedMs` is, for a denied
 * request, how long until it would fit.
 */
export function toDecision(
  allowed: boolean,
  policy: RateLimitPolicy,
  cost: number,
  untilFullMs: number,
  untilAllowedMs: number,
): RateLimitDecision {
  const { burst } = policy;
  const intervalMs = 1000 / policy.rate;
  // Same inequality as admission: n more cost-1 requests fit iff untilFull + n*T <= burst*T.
  const fit = Math.floor((burst * intervalMs - untilFullMs + EPSILON_MS) / intervalMs);
  const remaining = fit < 0 ? 0 : fit > burst ? burst : fit;
  const resetMs = Math.max(0, Math.ceil(untilFullMs - EPSILON_MS));
  let retryAfterMs = 0;
  if (!allowed) {
    retryAfterMs =
      cost > burst ? Number.POSITIVE_INFINITY : Math.max(1, Math.ceil(untilAllowedMs - EPSILON_MS));
  }
  return { allowed, limit: burst, remaining, resetMs, retryAfterMs };
}
