/**
 * The monthly call ledger: how many metered calls each org, tenant and operation made in a quota
 * month, and the check that keeps them within the org's quota and the tenants' allocations.
 *
 * A call is **reserved** before it is sent (checked and counted at once, atomically, so that
 * concurrent calls can never together pass a limit) and **released** if it did not count after
 * all (it never reached DingTalk, or DingTalk refused it before the API ran).
 *
 * Allocations: a tenant with an `allocation` has that many calls of the org's month to itself,
 * and no more; tenants without one share the org's **pool**, the quota less every allocation,
 * first come. So the tenants' calls together never pass the org's quota. The org's own count
 * (all its tenants) is checked too: the quota may be lowered mid-month, and DingTalk may say the
 * month is spent (`orgSpent`) because something outside the gateway spends it as well.
 *
 * ```ts
 * const account = { org: 'acme', quota: 10_000, tenant: 'wiki', allocation: 3_000, pool: 5_000 };
 * const reservation = await ledger.reserve(account, 'addWorkspace', monthOf(Date.now()));
 * if (!reservation.granted) return refuse(reservation); // spent: 'tenant' | 'pool' | 'org'
 * const counted = await callDingTalk();
 * if (!counted) await ledger.release(account, 'addWorkspace', month);
 * ```
 */
import type { Month } from './month.js';

/** Who a call is counted against: an org's month, and a tenant's part of it. */
export interface QuotaAccount {
  /** The org's id. */
  readonly org: string;
  /** The org's metered calls a month. */
  readonly quota: number;
  readonly tenant: string;
  /** The tenant's own calls of the month; `undefined`: the tenant draws on the org's pool. */
  readonly allocation: number | undefined;
  /** The org's quota less its tenants' allocations. */
  readonly pool: number;
}

export type QuotaLimitName = 'tenant' | 'pool' | 'org';

export type Reservation =
  | {
      readonly granted: true;
      /** Calls left to this tenant this month after this one: the least of what its allocation (or the pool) and the org have left. */
      readonly remaining: number;
      /** The tenant's limit: its allocation, or the pool. */
      readonly limit: number;
      /** What this call's limit (the allocation, or the pool) has used, this call included. */
      readonly used: number;
      /** What the org has used, this call included. */
      readonly orgUsed: number;
    }
  | {
      readonly granted: false;
      /** Which limit is spent: the tenant's allocation, the pool it draws on, or the org's quota. */
      readonly spent: QuotaLimitName;
      readonly used: number;
      readonly limit: number;
    };

export interface TenantUsage {
  used: number;
  /** Calls by operationId. */
  operations: Record<string, number>;
}

export interface OrgUsage {
  used: number;
  /** Calls of the tenants without an allocation. */
  poolUsed: number;
  /** DingTalk said the month is spent while the quota was this (it stays spent until the quota is raised past it). */
  spentAtQuota?: number;
  tenants: Record<string, TenantUsage>;
}

export interface MonthUsage {
  month: Month;
  orgs: Record<string, OrgUsage>;
}

export interface QuotaLedger {
  /** Counts one call against the account's limits if none of them is spent. */
  reserve(account: QuotaAccount, operationId: string, month: Month): Reservation | Promise<Reservation>;
  /** Takes back `calls` (default 1) reserved calls that did not count. */
  release(account: QuotaAccount, operationId: string, month: Month, calls?: number): void | Promise<void>;
  /** DingTalk answered `ApiCountLimitForOrg`: the org's month is spent at this quota. */
  orgSpent(org: string, month: Month, quota: number): void | Promise<void>;
  /** What was counted in a month. */
  usage(month: Month): MonthUsage | Promise<MonthUsage>;
  /** What one org counted in a month (zeros when nothing). */
  orgUsage(org: string, month: Month): OrgUsage | Promise<OrgUsage>;
  /** Writes what is not yet written (a file, a queue) and stops timers. */
  close(): void | Promise<void>;
}

/** Whether the org's month is spent: its calls reached the quota, or DingTalk said so at this quota or a larger one. */
export const orgMonthSpent = (org: Pick<OrgUsage, 'used' | 'spentAtQuota'> | undefined, quota: number): boolean =>
  org !== undefined && (org.used >= quota || (org.spentAtQuota !== undefined && org.spentAtQuota >= quota));

/**
 * The decision for an account given what it used: the same rule for every store (the Redis one
 * runs it in Lua; `ledger.test` holds them to the same cases).
 */
export function decide(account: QuotaAccount, org: Pick<OrgUsage, 'used' | 'poolUsed' | 'spentAtQuota'> | undefined, tenantUsed: number): Reservation {
  const orgUsed = org?.used ?? 0;
  const own = account.allocation !== undefined;
  const used = own ? tenantUsed : (org?.poolUsed ?? 0);
  const limit = own ? account.allocation! : account.pool;
  // The tenant's own limit first: when both are spent, that is the one it can plan around.
  if (used >= limit) return { granted: false, spent: own ? 'tenant' : 'pool', used, limit };
  if (orgMonthSpent(org, account.quota)) return { granted: false, spent: 'org', used: orgUsed, limit: account.quota };
  return { granted: true, limit, used: used + 1, orgUsed: orgUsed + 1, remaining: Math.max(0, Math.min(limit - used - 1, account.quota - orgUsed - 1)) };
}
