/**
 * The GCRA limits of a `RequestLimiter` (`request-limits.ts`): a `rate` check's policy and
 * decision. `Clock` and `RateLimiterUnavailableError` also serve its sliding windows
 * (`window-interface.ts`).
 *
 * The algorithm is GCRA (generic cell rate algorithm): each key stores one number, its
 * *theoretical arrival time* (TAT). With emission interval `T = 1000 / rate` ms and capacity
 * `burst * T` ms, a request of `cost` units is admitted iff
 * `max(TAT, now) + cost * T - now <= burst * T`; if admitted, TAT becomes
 * `max(TAT, now) + cost * T`. It is a token bucket of size `burst` refilled at `rate` per second,
 * stored as a single timestamp, so there is no background refill and no per-key timer, and a key
 * whose TAT is in the past is a full bucket that needs no state at all.
 */

/** How fast and how bursty one key may go. */
export interface RateLimitPolicy {
  /**
   * Sustained rate in cost units (requests) per second. Finite and > 0; may be fractional
   * (`0.5` is one request every two seconds).
   */
  readonly rate: number;
  /**
   * Bucket size: how many cost units are admitted at once from idle. An integer >= 1.
   * Over any interval of `t` seconds a key is admitted at most `burst + floor(rate * t)` units.
   */
  readonly burst: number;
}

/** The outcome of one `rate` check. All durations are integer milliseconds, rounded up. */
export interface RateLimitDecision {
  /** Whether this request was admitted (and its cost consumed). A denied request consumes nothing. */
  readonly allowed: boolean;
  /** The policy's `burst`: the most `remaining` can ever be. */
  readonly limit: number;
  /**
   * After this decision: how many further cost-1 requests would be admitted if sent right now.
   * An integer in `[0, limit]`. Whole requests only: a bucket that is 2.7 requests full says 2.
   */
  readonly remaining: number;
  /**
   * After this decision: milliseconds until the bucket is full again (`remaining === limit`)
   * if no further requests arrive. 0 when it already is full.
   */
  readonly resetMs: number;
  /**
   * 0 when allowed. When denied: milliseconds until this same request (same cost) would be
   * admitted, if no other request for the key arrives in between; always >= 1.
   * `Infinity` when `cost > burst`: such a request can never be admitted, so retrying is
   * pointless (callers should answer it as a client error, not 429 + Retry-After).
   */
  readonly retryAfterMs: number;
}

/** A source of milliseconds. Injected so tests drive time; need not be wall-clock time. */
export interface Clock {
  now(): number;
}

/** Why a store could not decide. Thrown by backends (Redis) so that the circuit breaker falls back. */
export type RateLimiterUnavailableReason = 'timeout' | 'error';

/**
 * The backing store could not answer (timeout, connection refused or closed, Redis error reply).
 * The request may or may not have been counted there. `withRequestFallback` (and the other Redis
 * stores' circuit breakers) catch exactly this class; anything else (e.g. `RangeError` for a bad
 * policy) is a caller bug and propagates.
 */
export class RateLimiterUnavailableError extends Error {
  override readonly name = 'RateLimiterUnavailableError';

  constructor(
    readonly reason: RateLimiterUnavailableReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
