/**
 * One request's calls in the org's month: reserved before each attempt that needs one, counted
 * by the answer, and what did not count given back when the request is done.
 *
 * A request may make several attempts (a token refreshed, a GET retried, a DingTalk QPS refusal
 * waited out); each attempt that DingTalk processed counts (`meteringOf(spec).counts`), one that
 * it refused before the API ran, or that never left the gateway, does not. An attempt whose
 * answer never came (a timeout, a connection lost after sending) counts: DingTalk may have
 * processed it, and the ledger errs on the side of the org's quota.
 *
 * ```ts
 * const call = new MeteredCall(ledger, tenant.account, 'addWorkspace', monthOf(Date.now()));
 * // the first call was reserved by the quota step; before a retry:
 * if (!(await call.reserveAttempt())) return lastAnswer; // the month is spent
 * call.counted(metering.counts({ status, code }));
 * await call.settle(); // gives back what was reserved and did not count
 * ```
 */
import type { Month, QuotaAccount, QuotaLedger } from '@dingtalk-gateway/call-quota';

export class MeteredCall {
  #reserved = 1;
  #counted = 0;
  #settled = false;

  constructor(
    private readonly ledger: QuotaLedger,
    readonly account: QuotaAccount,
    readonly operationId: string,
    readonly month: Month,
  ) {}

  /** How many attempts counted so far. */
  get countedCalls(): number {
    return this.#counted;
  }

  /**
   * A call for the next attempt: the one left from an attempt that did not count, or a new
   * reservation. False when the month is spent (or the ledger cannot answer): no attempt then.
   */
  async reserveAttempt(): Promise<boolean> {
    if (this.#counted < this.#reserved) return true;
    try {
      const reservation = await this.ledger.reserve(this.account, this.operationId, this.month);
      if (!reservation.granted) return false;
    } catch {
      return false;
    }
    this.#reserved += 1;
    return true;
  }

  /** DingTalk said the org's month is spent (`ApiCountLimitForOrg`): so it is, at the quota the config gives. */
  async orgSpent(): Promise<void> {
    try {
      await this.ledger.orgSpent(this.account.org, this.month, this.account.quota);
    } catch {
      // The ledger cannot answer now; the next call will hear the same from DingTalk.
    }
  }

  /** An attempt's outcome: whether DingTalk counted it. */
  counted(counts: boolean): void {
    if (counts) this.#counted += 1;
  }

  /**
   * Gives back the calls reserved for attempts that did not count. Once. Nothing to give back
   * (the usual case): done at once, no promise (it runs for every metered request).
   */
  settle(): void | Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    const unused = this.#reserved - this.#counted;
    if (unused > 0) return this.ledger.release(this.account, this.operationId, this.month, unused);
  }
}
