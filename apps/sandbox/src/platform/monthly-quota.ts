/**
 * DingTalk's monthly call quota per org: every metered call (the spec's `x-dingtalk-metered`)
 * that DingTalk processed counts towards its org's calendar month in China Standard Time; past
 * the quota every metered call is refused with `403 Forbidden.AccessDenied.ApiCountLimitForOrg`
 * (`调用量:10001次,额度:10000次`) until the month ends or the quota is raised, which takes
 * effect at once (an upgraded edition). The token endpoints are not metered.
 *
 * The check runs after the token, permission and QPS checks (their refusals do not count); a
 * call counts by the answer it got (`meteringOf(spec).counts`), so an error of the API counts
 * and a refusal of the platform does not, exactly as the gateway's ledger counts it.
 *
 * ```ts
 * const quota = new MonthlyQuota({ quota: 10_000, counters, now });
 * quota.setQuota(200, 'dingsandboxcorp0001'); // one org; without a corpId: every org's default
 * ```
 */
import { monthOf } from '@dingtalk-gateway/call-quota';
import type { MiddlewareHandler } from 'hono';
import type { CallCounters } from '../counters.js';
import type { SandboxEnv } from './env.js';
import { DingTalkError } from './errors.js';

export const STANDARD_EDITION_QUOTA = 10_000;

export class MonthlyQuota {
  #default: number;
  readonly #byOrg = new Map<string, number>();
  readonly #counters: CallCounters;
  readonly #now: () => number;

  constructor(options: { quota: number; counters: CallCounters; now: () => number }) {
    this.#default = options.quota;
    this.#counters = options.counters;
    this.#now = options.now;
  }

  quotaOf(corpId: string): number {
    return this.#byOrg.get(corpId) ?? this.#default;
  }

  /** Sets an org's quota, or (without `corpId`) the quota of every org without one of its own. */
  setQuota(quota: number, corpId?: string): void {
    if (!Number.isInteger(quota) || quota < 0) throw new RangeError('a monthly call quota is a whole number of calls, 0 or more');
    if (corpId === undefined) this.#default = quota;
    else this.#byOrg.set(corpId, quota);
  }

  /** The quotas in force: the default and each org's own. */
  quotas(): { default: number; orgs: Record<string, number> } {
    return { default: this.#default, orgs: Object.fromEntries(this.#byOrg) };
  }

  /** The org's metered calls in the month of now. */
  used(corpId: string): number {
    return this.#counters.meteredCalls(corpId, monthOf(this.#now()));
  }

  /** Refuses the call when the org's month is spent. */
  check(corpId: string): void {
    const used = this.used(corpId);
    const quota = this.quotaOf(corpId);
    if (used >= quota) throw new DingTalkError(403, 'Forbidden.AccessDenied.ApiCountLimitForOrg', `调用量:${used + 1}次,额度:${quota}次`);
  }

  /** Counts one processed metered call of the org. */
  count(corpId: string): void {
    this.#counters.metered(corpId, monthOf(this.#now()));
  }

  reset(quota: number): void {
    this.#default = quota;
    this.#byOrg.clear();
  }
}

/** The quota check of a metered operation, after token, permission and QPS. */
export const checkMonthlyQuota =
  (quota: MonthlyQuota): MiddlewareHandler<SandboxEnv> =>
  async (c, next) => {
    quota.check(c.get('principal').corpId);
    await next();
  };
