/**
 * The limiter of the package: all the limits one request is counted against, decided in one
 * call. A tenant's limits (GCRA, `rate` checks) and DingTalk's QPS guard and per-IP window
 * (sliding windows, `window` checks), in order. Implementations: `MemoryRequestLimiter` (this
 * process), `RedisRequestLimiter` (`@dingtalk-gateway/rate-limiter/redis`: shared by every
 * instance, one round trip), and `withRequestFallback` around the latter for Redis outages.
 *
 * Semantics, whatever the implementation: the checks are decided in order and the first refusal
 * ends it; the checks before it stay counted, the ones after it are not made.
 *
 * ```ts
 * const outcomes = await limits.check([
 *   { kind: 'rate', key: 'tenant:wiki', policy: { rate: 10, burst: 20 } },
 *   { kind: 'window', key: 'app:bot:op:listWorkspaces', policy: { limit: 20, windowMs: 1_050 } },
 * ]);
 * const refused = outcomes.find((o) => !o.decision.allowed);
 * ```
 */
import type { Clock, RateLimitDecision, RateLimitPolicy } from './interface.js';
import { GcraBuckets } from './memory-gcra.js';
import { WindowLogs } from './memory-window.js';
import type { SweepOptions } from './sweep.js';
import type { WindowDecision, WindowPolicy } from './window-interface.js';

export type LimitCheck =
  | { readonly kind: 'rate'; readonly key: string; readonly policy: RateLimitPolicy }
  | { readonly kind: 'window'; readonly key: string; readonly policy: WindowPolicy };

export type LimitOutcome =
  | { readonly kind: 'rate'; readonly decision: RateLimitDecision }
  | { readonly kind: 'window'; readonly decision: WindowDecision };

export interface RequestLimiter {
  /**
   * The decisions of `checks`, in order, up to and including the first refusal: at once when the
   * limits are in this process (`MemoryRequestLimiter`), else a promise. A check's key names one
   * budget of its kind (a `rate` key and a `window` key of the same name are two budgets); a
   * changed policy applies to the key's state as it is. Fails with `RangeError` on an invalid
   * policy, and with `RateLimiterUnavailableError` when the store cannot be reached (see
   * `withRequestFallback`).
   */
  check(checks: readonly LimitCheck[]): LimitOutcome[] | Promise<LimitOutcome[]>;
}

/**
 * Another store's call that a request makes in the same store call as its limits, after them and
 * only if they all admit it (on Redis: in the same script run, so a request costs one round trip
 * where it would cost two). The call ledger's reservation is the one there is: a call of the month
 * is counted only for a request its limits let through.
 */
export interface CompanionCall {
  /** The one Redis key the call reads and writes. */
  readonly key: string;
  /** Its arguments, as the companion's Lua `companion(key, args)` reads them. */
  readonly args: ReadonlyArray<string | number>;
}

/** What a `CompanionLimiter` decided: the limits, and the companion's reply when it ran. */
export interface CompanionOutcome {
  readonly outcomes: LimitOutcome[];
  /** The companion's reply; `undefined` when a limit refused the request (the call was not made) or no store that runs it decided. */
  readonly companion: ReadonlyArray<number | string> | undefined;
}

/** A `RequestLimiter` that can make a companion call with the limits (`RedisRequestLimiter` with a `companion`). */
export interface CompanionLimiter extends RequestLimiter {
  checkWith(checks: readonly LimitCheck[], call: CompanionCall): Promise<CompanionOutcome>;
}

export interface MemoryRequestLimiterOptions extends SweepOptions {
  /** Millisecond clock; defaults to `performance` (monotonic, immune to wall-clock jumps). */
  clock?: Clock;
}

/**
 * The limits in this process, decided at once (no promise: on the gateway's hot path every
 * awaited promise is a turn of the microtask queue). Exact for one instance; memory is bounded by
 * the keys still holding state (see `sweep.ts`).
 */
export class MemoryRequestLimiter implements RequestLimiter {
  private readonly rates: GcraBuckets;
  private readonly windows: WindowLogs;

  constructor(options: MemoryRequestLimiterOptions = {}) {
    this.rates = new GcraBuckets(options);
    this.windows = new WindowLogs(options);
  }

  check(checks: readonly LimitCheck[]): LimitOutcome[] {
    const outcomes: LimitOutcome[] = [];
    for (const check of checks) {
      const outcome: LimitOutcome =
        check.kind === 'rate' ? { kind: 'rate', decision: this.rates.limit(check.key, check.policy) } : { kind: 'window', decision: this.windows.hit(check.key, check.policy) };
      outcomes.push(outcome);
      if (!outcome.decision.allowed) break;
    }
    return outcomes;
  }
}
