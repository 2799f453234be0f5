/**
 * The sliding windows of a `RequestLimiter` (`request-limits.ts`): a `window` check's policy and
 * decision, side by side with the GCRA limits of `interface.ts`.
 *
 * The algorithm is an exact sliding log: a hit at time `now` is admitted iff fewer than `limit`
 * admissions lie in `(now - windowMs, now]`. So no window of `windowMs` (sliding, hence also any
 * fixed one, wherever its boundaries are) ever holds more than `limit` admissions, while a full
 * burst of `limit` is admitted at once from idle.
 *
 * Why not GCRA: a GCRA policy admits up to `burst + floor(rate * t)` in `t` seconds, so keeping
 * every one-second window within Q forces `burst + floor(rate) <= Q`, a trade between burst and
 * rate. DingTalk's per-app, per-API QPS limit ("20 requests per second, the window is one second",
 * `Forbidden.AccessDenied.QpsLimitForAppkeyAndApi` beyond it) is exactly "at most Q in a window",
 * which a sliding log expresses without that trade. The price is state: one timestamp per
 * admission in the window (O(limit) per key), so this is meant for small limits; use GCRA for
 * large budgets.
 */

/** How many admissions one key may have in any window. */
export interface WindowPolicy {
  /** Most admissions in any window of `windowMs`. An integer >= 1. */
  readonly limit: number;
  /** The window length in milliseconds. Finite and > 0; may be fractional. */
  readonly windowMs: number;
}

/** The outcome of one `window` check. Durations are integer milliseconds, rounded up. */
export interface WindowDecision {
  /** Whether this hit was admitted (and recorded). A denied hit records nothing. */
  readonly allowed: boolean;
  /**
   * After this decision: how many further hits would be admitted if sent right now, i.e. `limit`
   * minus the admissions in `(now - windowMs, now]`. An integer in `[0, limit]`: at most
   * `limit - 1` after an admission (this hit is one of them), 0 when denied, `limit` only when
   * nothing is counted (`withRequestFallback`'s `open` mode).
   */
  readonly remaining: number;
  /**
   * 0 when allowed. When denied: milliseconds until the oldest admission in the window leaves it,
   * after which a hit is admitted if no other hit for the key arrives in between; always >= 1.
   */
  readonly retryAfterMs: number;
}
