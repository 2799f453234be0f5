/**
 * `GET /gateway/usage`: what the key's tenant used of its org's month, and what is left (the
 * contract's `getGatewayUsage`). Read from the ledger; costs nothing of the month.
 *
 * ```ts
 * app.get('/gateway/usage', observed(runSteps([authenticateStep({ keys })], usageRoute({ ledger, validator }))));
 * ```
 */
import { type QuotaLedger, monthOf, monthStart, nextMonthStart, orgMonthSpent } from '@dingtalk-gateway/call-quota';
import { type SpecValidator, queryOf } from '@dingtalk-gateway/spec-validator';
import type { GatewayComponents } from '@dingtalk-gateway/types';
import type { RouteHandler } from '../context.js';
import { answerJson, dingtalkError } from '../errors.js';

export const USAGE_PATH = '/gateway/usage';
const OPERATION_ID = 'getGatewayUsage';

type GatewayUsage = GatewayComponents['schemas']['GatewayUsage'];

export function usageRoute(options: { ledger: QuotaLedger; validator: SpecValidator; now?: () => number }): RouteHandler {
  const operation = options.validator.operation(OPERATION_ID);
  if (!operation) throw new Error(`the contract has no ${OPERATION_ID}`);
  const now = options.now ?? Date.now;

  return async (c) => {
    c.set('operation', operation);
    const checked = options.validator.validateRequest(operation, { query: queryOf(c.req.url) });
    if (!checked.ok) return dingtalkError(c, checked.status, checked.code, checked.message);
    const at = now();
    const month = typeof checked.query.month === 'string' ? checked.query.month : monthOf(at);
    const tenant = c.get('tenant');
    const { account } = tenant;
    const org = await options.ledger.orgUsage(account.org, month);
    const own = account.allocation !== undefined;
    const used = own ? (org.tenants[tenant.id]?.used ?? 0) : org.poolUsed;
    const limit = own ? account.allocation! : account.pool;
    const spent = orgMonthSpent(org, account.quota);
    const orgRemaining = spent ? 0 : Math.max(0, account.quota - org.used);
    const usage: GatewayUsage = {
      month,
      resetsAt: `${monthOf(nextMonthStart(monthStart(month)))}-01T00:00+08:00`,
      tenant: {
        id: tenant.id,
        used,
        limit,
        limitKind: own ? 'allocation' : 'pool',
        remaining: Math.max(0, Math.min(limit - used, orgRemaining)),
        operations: org.tenants[tenant.id]?.operations ?? {},
      },
      org: { id: account.org, used: org.used, quota: account.quota, remaining: orgRemaining, spent },
    };
    return answerJson(c, usage, 200);
  };
}
