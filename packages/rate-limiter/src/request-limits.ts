/**
 * All the limits one request is counted against, decided in one call: a tenant's limits (GCRA)
 * and DingTalk's per-app QPS guard (sliding window), in order. On Redis that is one round trip
 * (`RedisRequestLimiter`) where asking each limiter in turn took one per limit.
 *
 * Semantics, whatever the implementation: the checks are decided in order and the first refusal
 * ends it; the checks before it stay counted (as when each limiter is asked in turn), the ones
 * after it are not made. `SequentialRequestLimiter` is exactly that, over any two limiters.
 *
 * ```ts
 * const outcomes = await limits.check([
 *   { kind: 'rate', key: 'tenant:wiki', policy: { rate: 10, burst: 20 } },
 *   { kind: 'window', key: 'app:bot:op:listWorkspaces', policy: { limit: 20, windowMs: 1_050 } },
 * ]);
 * const refused = outcomes.find((o) => !o.decision.allowed);
 * ```
 */
import type { RateLimitDecision, RateLimitPolicy, RateLimiter } from './interface.js';
import { MemoryRateLimiter } from './memory.js';
import { MemoryWindowLimiter } from './memory-window.js';
import type { WindowDecision, WindowLimiter, WindowPolicy } from './window-interface.js';

export type LimitCheck =
  | { readonly kind: 'rate'; readonly key: string; readonly policy: RateLimitPolicy }
  | { readonly kind: 'window'; readonly key: string; readonly policy: WindowPolicy };

export type LimitOutcome =
  | { readonly kind: 'rate'; readonly decision: RateLimitDecision }
  | { readonly kind: 'window'; readonly decision: WindowDecision };

export interface RequestLimiter {
  /**
   * The decisions of `checks`, in order, up to and including the first refusal: at once when the
   * limits are in this process (`MemoryRequestLimiter`), else a promise. Fails with
   * `RateLimiterUnavailableError` when the store cannot be reached (see `withRequestFallback`).
   */
  check(checks: readonly LimitCheck[]): LimitOutcome[] | Promise<LimitOutcome[]>;
}

/**
 * The in-process limits, decided at once (no promise: on the gateway's hot path every awaited
 * promise is a turn of the microtask queue). Same decisions as `SequentialRequestLimiter` over
 * the same two limiters.
 */
export class MemoryRequestLimiter implements RequestLimiter {
  constructor(
    readonly rates: MemoryRateLimiter = new MemoryRateLimiter(),
    readonly windows: MemoryWindowLimiter = new MemoryWindowLimiter(),
  ) {}

  check(checks: readonly LimitCheck[]): LimitOutcome[] {
    const outcomes: LimitOutcome[] = [];
    for (const check of checks) {
      const outcome: LimitOutcome =
        check.kind === 'rate'
          ? { kind: 'rate', decision: this.rates.limitNow(check.key, check.policy) }
          : { kind: 'window', decision: this.windows.hitNow(check.key, check.policy) };
      outcomes.push(outcome);
      if (!outcome.decision.allowed) break;
    }
    return outcomes;
  }
}

/** Asks `rates` and `windows` in turn: one call per check. */
export class SequentialRequestLimiter implements RequestLimiter {
  constructor(
    private readonly rates: RateLimiter,
    private readonly windows: WindowLimiter,
  ) {}

  async check(checks: readonly LimitCheck[]): Promise<LimitOutcome[]> {
    const outcomes: LimitOutcome[] = [];
    for (const check of checks) {
      const outcome: LimitOutcome =
        check.kind === 'rate'
          ? { kind: 'rate', decision: await this.rates.limit(check.key, check.policy) }
          : { kind: 'window', decision: await this.windows.hit(check.key, check.policy) };
      outcomes.push(outcome);
      if (!outcome.decision.allowed) break;
    }
    return outcomes;
  }
}
