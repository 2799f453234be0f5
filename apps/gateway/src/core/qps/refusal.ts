/**
 * The gateway's refusal of a call that DingTalk's per-app QPS limit leaves no slot for, wherever
 * the wait for a slot ends without one (before the first attempt, or before sending again after
 * DingTalk's own throttle answer): `429 gateway.rateLimit.dingtalkQps` with `Retry-After`,
 * counted in `dtg_rate_limited_total{limit="dingtalkQps"}`. A caller may send it again: DingTalk
 * did not process it.
 */
import type { Context } from 'hono';
import type { GatewayEnv } from '../context.js';
import { gatewayError } from '../errors.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { Tenant } from '../tenants.js';

export function dingtalkQpsRefusal(c: Context<GatewayEnv>, metrics: GatewayMetrics, tenant: Tenant, message: string, retryAfterSeconds: number): Response {
  metrics.rateLimited.inc({ tenant: tenant.id, limit: 'dingtalkQps' });
  return gatewayError(c, 429, 'gateway.rateLimit.dingtalkQps', message, { headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) } });
}
