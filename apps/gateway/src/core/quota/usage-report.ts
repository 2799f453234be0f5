/**
 * What `dingtalk-gateway usage` prints: per org, its calls of the month and what is left; per
 * tenant, its calls, its limit (allocation, or the pool it shares) and what is left, and its
 * calls per operation.
 *
 * ```
 * 2026-12 (China Standard Time; the next month starts at 2027-01-01T00:00+08:00)
 *
 * org acme (dingacme): 5,310 of 10,000 calls used, 4,690 left
 *   tenant wiki      812 of its allocation of 3,000, 2,188 left   listWorkspaces 700, getWorkspace 112
 *   pool             4,498 of 4,000 ...
 * ```
 */
import { type Month, type MonthUsage, monthOf, monthStart, nextMonthStart, orgMonthSpent } from '@dingtalk-gateway/call-quota';
import type { QuotaPlan } from './plan.js';

export interface UsageRow {
  org: string;
  /** Undefined for the org's own row and the pool's. */
  tenant: string | undefined;
  kind: 'org' | 'allocation' | 'pool' | 'pool tenant';
  used: number;
  limit: number;
  left: number;
  operations: Record<string, number>;
}

/** The rows of a month: each org, then its tenants with an allocation, its pool, the pool's tenants. */
export function usageRows(plan: QuotaPlan, usage: MonthUsage): UsageRow[] {
  const rows: UsageRow[] = [];
  for (const org of plan.orgs.values()) {
    const counted = usage.orgs[org.id] ?? { used: 0, poolUsed: 0, tenants: {} };
    const orgLeft = orgMonthSpent(counted, org.quota) ? 0 : Math.max(0, org.quota - counted.used);
    rows.push({ org: org.id, tenant: undefined, kind: 'org', used: counted.used, limit: org.quota, left: orgLeft, operations: {} });
    const accounts = org.tenants.map((id) => plan.accounts.get(id)!);
    for (const account of accounts.filter((a) => a.allocation !== undefined)) {
      const tenant = counted.tenants[account.tenant] ?? { used: 0, operations: {} };
      rows.push({ org: org.id, tenant: account.tenant, kind: 'allocation', used: tenant.used, limit: account.allocation!, left: Math.max(0, Math.min(account.allocation! - tenant.used, orgLeft)), operations: tenant.operations });
    }
    const poolTenants = accounts.filter((a) => a.allocation === undefined);
    if (poolTenants.length > 0) {
      const poolLeft = Math.max(0, Math.min(org.pool - counted.poolUsed, orgLeft));
      rows.push({ org: org.id, tenant: undefined, kind: 'pool', used: counted.poolUsed, limit: org.pool, left: poolLeft, operations: {} });
      for (const account of poolTenants) {
        const tenant = counted.tenants[account.tenant] ?? { used: 0, operations: {} };
        rows.push({ org: org.id, tenant: account.tenant, kind: 'pool tenant', used: tenant.used, limit: org.pool, left: poolLeft, operations: tenant.operations });
      }
    }
  }
  return rows;
}

const n = (value: number) => value.toLocaleString('en-US');

export function formatUsage(plan: QuotaPlan, usage: MonthUsage): string {
  const month: Month = usage.month;
  const lines = [`${month} (China Standard Time; the next month starts at ${monthOf(nextMonthStart(monthStart(month)))}-01T00:00+08:00)`];
  for (const row of usageRows(plan, usage)) {
    const operations = Object.entries(row.operations)
      .sort(([, a], [, b]) => b - a)
      .map(([operation, calls]) => `${operation} ${n(calls)}`)
      .join(', ');
    switch (row.kind) {
      case 'org': {
        const corpId = plan.orgs.get(row.org)!.corpId;
        const spent = usage.orgs[row.org]?.spentAtQuota;
        lines.push('', `org ${row.org}${corpId ? ` (${corpId})` : ''}: ${n(row.used)} of ${n(row.limit)} calls used, ${n(row.left)} left${spent !== undefined && spent >= row.limit ? ' (DingTalk said the month is spent)' : ''}`);
        break;
      }
      case 'allocation':
        lines.push(`  tenant ${row.tenant}: ${n(row.used)} of its allocation of ${n(row.limit)}, ${n(row.left)} left${operations ? `  (${operations})` : ''}`);
        break;
      case 'pool':
        lines.push(`  pool: ${n(row.used)} of ${n(row.limit)}, ${n(row.left)} left, shared by:`);
        break;
      case 'pool tenant':
        lines.push(`    tenant ${row.tenant}: ${n(row.used)}${operations ? `  (${operations})` : ''}`);
        break;
    }
  }
  return `${lines.join('\n')}\n`;
}
