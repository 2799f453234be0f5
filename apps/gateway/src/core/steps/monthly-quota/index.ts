/**
 * The org's monthly call quota and the tenant's part of it, for metered operations
 * (`x-dingtalk-metered`): the call is reserved in the ledger before it goes to DingTalk (the
 * proxy gives it back if it did not count), and every answer from here on carries the tenant's
 * part of the month as a second IETF policy: `"month";q=<allocation or pool>;w=<seconds in the
 * month>` and `"month";r=<left>;t=<seconds until the next month>`.
 *
 * Refusals, both with `Retry-After` at the start of the next month (China Standard Time):
 * - the tenant's allocation (or the pool it shares) is spent: `429 gateway.quota.tenant`, saying
 *   how much of how much was used;
 * - the org's quota is spent (by the ledger, or because DingTalk said so): DingTalk's own
 *   `403 Forbidden.AccessDenied.ApiCountLimitForOrg`, in DingTalk's words, without calling it.
 *
 * The call may have been reserved already, with the request's limits (`reservedCall`, see
 * `quota/limits-with-call.ts`): this step then answers for that reservation.
 *
 * ```ts
 * app.use('*', monthlyQuota({ ledger, metrics, logger }));
 * ```
 */
import { type MonthSpan, type QuotaLedger, type Reservation, monthOf, monthSpanOf } from '@dingtalk-gateway/call-quota';
import { RateLimiterUnavailableError } from '@dingtalk-gateway/rate-limiter';
import type { Context } from 'hono';
import type { GatewayLogger } from '../../observability/logger.js';
import { appendAnswerHeader } from '../../answer.js';
import type { GatewayEnv } from '../../context.js';
import { dingtalkError, gatewayError } from '../../errors.js';
import type { GatewayMetrics } from '../../observability/metrics.js';
import { MeteredCall } from '../../quota/metered-call.js';
import { watchQuota } from '../../quota/watch.js';
import { type Step, stepMiddleware } from '../step.js';

export interface MonthlyQuotaOptions {
  ledger: QuotaLedger;
  metrics: GatewayMetrics;
  logger: GatewayLogger;
  /** The clock, epoch ms. Default `Date.now`. */
  now?: () => number;
}

export function monthlyQuota(options: MonthlyQuotaOptions) {
  return stepMiddleware(monthlyQuotaStep(options));
}

export function monthlyQuotaStep(options: MonthlyQuotaOptions): Step {
  const { ledger, metrics } = options;
  const now = options.now ?? Date.now;
  const watch = watchQuota(options.logger);

  return (c) => {
    const operation = c.get('operation');
    if (!operation.metered) return undefined;
    // Reserved with the request's limits, in the same store call (`quota/limits-with-call.ts`).
    const reserved = c.get('reservedCall');
    if (reserved !== undefined) {
      c.set('reservedCall', undefined);
      return decided(c, reserved.reservation, reserved.at, reserved.span);
    }
    const account = c.get('tenant').account;
    const at = now();
    const span = monthSpanOf(at);
    let outcome: Reservation | Promise<Reservation>;
    try {
      outcome = ledger.reserve(account, operation.operationId, span.month);
    } catch (error) {
      return unavailable(c, error);
    }
    if (outcome instanceof Promise) return outcome.then((reservation) => decided(c, reservation, at, span), (error: unknown) => unavailable(c, error));
    return decided(c, outcome, at, span);
  };

  function decided(c: Context<GatewayEnv>, reservation: Reservation, at: number, span: MonthSpan): Response | undefined {
    const tenant = c.get('tenant');
    const { account } = tenant;
    const operationId = c.get('operation').operationId;
    const { month, next } = span;
    const monthSeconds = Math.round((next - span.start) / 1000);
    const untilNext = Math.max(1, Math.ceil((next - at) / 1000));
    appendAnswerHeader(c, 'ratelimit-policy', `"month";q=${reservation.limit};w=${monthSeconds}`);
    appendAnswerHeader(c, 'ratelimit', `"month";r=${reservation.granted ? reservation.remaining : 0};t=${untilNext}`);
    if (reservation.granted) {
      c.set('meteredCall', new MeteredCall(ledger, account, operationId, month));
      watch(account, month, reservation);
      return undefined;
    }

    metrics.quotaRefused.inc({ tenant: tenant.id, limit: reservation.spent });
    const retryAfter = { 'retry-after': String(untilNext) };
    const nextMonth = `${monthOf(next)}-01T00:00+08:00`;
    if (reservation.spent === 'org') {
      return dingtalkError(
        c,
        403,
        'Forbidden.AccessDenied.ApiCountLimitForOrg',
        `调用量:${reservation.used + 1}次,额度:${reservation.limit}次: org ${account.org} has spent its monthly call quota for ${month} (China Standard Time); it comes back at ${nextMonth}`,
        retryAfter,
      );
    }
    const whose = reservation.spent === 'tenant' ? `tenant ${tenant.id} has used ${reservation.used} of its ${reservation.limit} calls` : `the tenants without an allocation in org ${account.org} have used ${reservation.used} of their pool's ${reservation.limit} calls`;
    return gatewayError(c, 429, 'gateway.quota.tenant', `${whose} for ${month} (China Standard Time); the next month starts at ${nextMonth}`, { headers: retryAfter });
  }
}

/** The ledger's store could not answer and its policy is to refuse (`whenDown: closed`): 503. */
function unavailable(c: Context<GatewayEnv>, error: unknown): Response {
  if (error instanceof RateLimiterUnavailableError) {
    return gatewayError(c, 503, 'gateway.unavailable', 'the call ledger is unavailable; try again shortly', { headers: { 'retry-after': '1' } });
  }
  throw error;
}
