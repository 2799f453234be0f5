/**
 * A request's limits and its call of the month decided in one store call, where the store can:
 * on Redis, one script run where the limits and the ledger would take one each (a round trip
 * costs redis-server ~30 µs of CPU on this project's benchmark machine whatever the script does;
 * see docs/BENCHMARKS.md).
 *
 * The rate-limit step uses it for a metered request that goes to DingTalk as soon as its limits
 * admit it (no read cache, no Idempotency-Key, DingTalk's slot taken with the limits); the
 * monthly-quota step then takes the reservation made here (`reservedCall`) instead of making one.
 * Decisions are those of the two calls made one after the other: the call is reserved only if
 * every limit admitted the request, at the point of the request's way where the limits are.
 *
 * ```ts
 * const decided = limitsWithCall.checkAndReserve(checks, tenant.account, 'addWorkspace', monthOf(Date.now()));
 * if (decided === undefined) return limits.check(checks); // not now: the quota step reserves
 * const { outcomes, reservation } = await decided;
 * ```
 */
import type { Month, MonthSpan, QuotaAccount, Reservation } from '@dingtalk-gateway/call-quota';
import type { LimitCheck, LimitOutcome } from '@dingtalk-gateway/rate-limiter';

export interface LimitsWithCall {
  /**
   * The decisions of `checks` and, if they all admit the request, its call of `month` reserved.
   * `reservation` is `undefined` when a limit refused, or when a fallback decided the limits (the
   * quota step then reserves on its own). `undefined` instead of a promise: not now (a store is on
   * its fallback, or has counts of an outage to add first): decide the limits alone.
   */
  checkAndReserve(
    checks: readonly LimitCheck[],
    account: QuotaAccount,
    operationId: string,
    month: Month,
  ): Promise<{ outcomes: LimitOutcome[]; reservation: Reservation | undefined }> | undefined;
}

/** A call of the month reserved with the request's limits, for the monthly-quota step. */
export interface ReservedCall {
  readonly reservation: Reservation;
  /** When it was reserved (epoch ms) and the month it counts in. */
  readonly at: number;
  readonly span: MonthSpan;
}
