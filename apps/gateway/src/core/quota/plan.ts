/**
 * The monthly call quota as the config sets it out: which org each app's calls spend, each org's
 * quota, and each tenant's part of it (its allocation, or the org's pool).
 *
 * - Without `orgs`, every app belongs to one org, `default`, with the standard edition's 10,000
 *   calls; with one org, apps need not name it; with several, each app names its own.
 * - A tenant's `monthlyAllocation` is a number of calls or a share of its org's quota (`"25%"`,
 *   rounded down); the allocations of an org's tenants may not add up to more than its quota.
 *   The pool is what is left: the tenants without an allocation share it.
 *
 * ```ts
 * const plan = quotaPlan(config);
 * plan.accounts.get('wiki'); // { org: 'acme', quota: 10000, tenant: 'wiki', allocation: 2500, pool: 4000 }
 * ```
 */
import type { QuotaAccount } from '@dingtalk-gateway/call-quota';
import { type GatewayConfig, STANDARD_MONTHLY_CALL_QUOTA } from '../../config/schema.js';

/** The org of every app when the config names none. */
export const DEFAULT_ORG = 'default';

export interface OrgPlan {
  readonly id: string;
  readonly corpId: string | undefined;
  readonly quota: number;
  /** The quota less the allocations. */
  readonly pool: number;
  readonly tenants: readonly string[];
  /** The sum of the allocations (may pass the quota in a config `check-config` refuses). */
  readonly allocated: number;
}

export interface QuotaPlan {
  readonly orgs: ReadonlyMap<string, OrgPlan>;
  readonly accounts: ReadonlyMap<string, QuotaAccount>;
}

/** The org whose month an app's calls spend; undefined when the config leaves it open (several orgs, none named). */
export function orgOfApp(config: Pick<GatewayConfig, 'orgs' | 'apps'>, appId: string): string | undefined {
  const named = config.apps[appId]?.org;
  if (named !== undefined) return named;
  if (config.orgs === undefined) return DEFAULT_ORG;
  const ids = Object.keys(config.orgs);
  return ids.length === 1 ? ids[0] : undefined;
}

/** A tenant's allocation in calls: its number, or its share of the quota rounded down. */
export function allocationOf(allocation: number | string | undefined, quota: number): number | undefined {
  if (allocation === undefined || typeof allocation === 'number') return allocation;
  return Math.floor((quota * Number(allocation.slice(0, -1))) / 100);
}

export function quotaPlan(config: Pick<GatewayConfig, 'orgs' | 'apps' | 'tenants'>): QuotaPlan {
  const orgConfigs = config.orgs ?? { [DEFAULT_ORG]: { monthlyCallQuota: STANDARD_MONTHLY_CALL_QUOTA } };
  const members = new Map<string, Array<{ tenant: string; allocation: number | undefined }>>();
  for (const [tenantId, tenant] of Object.entries(config.tenants)) {
    const org = orgOfApp(config, tenant.app);
    if (org === undefined || !Object.hasOwn(orgConfigs, org)) continue; // a config `check-config` refuses
    const list = members.get(org) ?? [];
    list.push({ tenant: tenantId, allocation: allocationOf(tenant.monthlyAllocation, orgConfigs[org]!.monthlyCallQuota) });
    members.set(org, list);
  }

  const orgs = new Map<string, OrgPlan>();
  const accounts = new Map<string, QuotaAccount>();
  for (const [id, org] of Object.entries(orgConfigs)) {
    const tenants = members.get(id) ?? [];
    const allocated = tenants.reduce((sum, t) => sum + (t.allocation ?? 0), 0);
    const quota = org.monthlyCallQuota;
    const pool = Math.max(0, quota - allocated);
    orgs.set(id, { id, corpId: 'corpId' in org ? org.corpId : undefined, quota, pool, tenants: tenants.map((t) => t.tenant), allocated });
    for (const { tenant, allocation } of tenants) accounts.set(tenant, Object.freeze({ org: id, quota, tenant, allocation, pool }));
  }
  return { orgs, accounts };
}
