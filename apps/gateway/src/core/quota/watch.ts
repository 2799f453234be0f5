/**
 * A warning in the log when a tenant's part of the month (its allocation, or the pool) or an
 * org's quota passes 80 % and 95 %: once per limit, threshold and month, logged by the request
 * whose call crossed it (so with several instances, by one of them).
 */
import type { Month, QuotaAccount, Reservation } from '@dingtalk-gateway/call-quota';
import type { GatewayLogger } from '../observability/logger.js';

export const WARN_AT = [0.8, 0.95] as const;

export function watchQuota(logger: GatewayLogger): (account: QuotaAccount, month: Month, reservation: Extract<Reservation, { granted: true }>) => void {
  const crossed = (used: number, limit: number) => WARN_AT.find((share) => limit > 0 && (used - 1) / limit < share && used / limit >= share);
  return (account, month, reservation) => {
    const own = account.allocation !== undefined;
    const tenantShare = crossed(reservation.used, reservation.limit);
    if (tenantShare !== undefined) {
      logger.warn(
        { month, org: account.org, ...(own ? { tenant: account.tenant } : { pool: true, tenant: account.tenant }), used: reservation.used, limit: reservation.limit },
        own ? `tenant ${account.tenant} has used ${Math.round(tenantShare * 100)}% of its monthly allocation` : `the pool of org ${account.org} is ${Math.round(tenantShare * 100)}% used`,
      );
    }
    const orgShare = crossed(reservation.orgUsed, account.quota);
    if (orgShare !== undefined) {
      logger.warn({ month, org: account.org, used: reservation.orgUsed, limit: account.quota }, `org ${account.org} has used ${Math.round(orgShare * 100)}% of its monthly call quota`);
    }
  };
}
