/**
 * Rate limits, in this order, each with its own key so one tenant at its limit never slows
 * another:
 * 1. the tenant's limit for this operation, if it has one (`operationLimits`);
 * 2. the tenant's overall limit: its answers carry `RateLimit-Policy` / `RateLimit`;
 * 3. DingTalk's own per-app, per-API QPS limit, shared by every tenant of the app, so the
 *    organization never earns `Forbidden.AccessDenied.QpsLimitForAppkeyAndApi`. Over it, a
 *    request waits for a slot (`QpsQueue`: bounded, fair between tenants) rather than being
 *    refused; past the queue's `maxWaitMs`, or with the queue full, it is refused. A request
 *    arriving while others wait for the same slots queues behind them.
 * Refusals are `429` with `Retry-After` (`503 gateway.unavailable` while shutting down).
 *
 * Where the store can (`withCall`: on Redis, the same script run), a metered request that goes
 * on to DingTalk once admitted has its call of the month reserved with these limits, for the
 * quota step to take (`quota/limits-with-call.ts`).
 *
 * ```ts
 * const limits = new MemoryRequestLimiter();
 * const qpsQueue = new QpsQueue({ take: (key) => qpsSlot(limits, key, 20), maxWaitMs: 1_500, maxQueued: 1_000 });
 * app.use('*', rateLimit({ limits, dingtalkQpsLimit: 20, qpsQueue, metrics }));
 * ```
 */
import { monthSpanOf } from '@dingtalk-gateway/call-quota';
import { type LimitCheck, type LimitOutcome, type RateLimitPolicy, RateLimiterUnavailableError, type RequestLimiter, type WindowPolicy, rateLimitHeaders } from '@dingtalk-gateway/rate-limiter';
import type { Context } from 'hono';
import type { GatewayEnv } from '../../context.js';
import type { Tenant } from '../../tenants.js';
import { addAnswerHeader } from '../../answer.js';
import { gatewayError } from '../../errors.js';
import type { GatewayMetrics } from '../../observability/metrics.js';
import type { QpsQueue, QueueOutcome, SlotDecision } from '../../qps/queue.js';
import type { LimitsWithCall } from '../../quota/limits-with-call.js';
import { dingtalkQpsRefusal } from '../../qps/refusal.js';
import { type Step, stepMiddleware } from '../step.js';

/**
 * DingTalk counts calls per app and API in one-second windows. A sliding window of a little over
 * a second never admits more than `qps` in any second, lets a full burst of `qps` through at once,
 * and leaves room for network jitter to shift calls between DingTalk's windows.
 */
export const DINGTALK_QPS_WINDOW_MS = 1_050;

export interface RateLimitOptions {
  /** Decides all of a request's limits in one call (`MemoryRequestLimiter` at once, or Redis' one round trip). */
  limits: RequestLimiter;
  dingtalkQpsLimit: number;
  /** Where a request over DingTalk's QPS limit waits for a slot (its `take` asks `qpsSlot`). */
  qpsQueue: QpsQueue;
  /**
   * DingTalk's per-IP window (`dingtalk.ipWindow`): the request's call takes its slot here, in
   * the same decision as its other limits (on Redis, the same round trip), and the proxy's
   * egress guard does not take another (`egressCounted`, then `UpstreamRequest.ipWindowSlot`).
   */
  egressWindow?: { key: string; policy: WindowPolicy } | undefined;
  metrics: GatewayMetrics;
  /**
   * Whether this request's DingTalk slot (QPS and per-IP) waits for `dingtalkSlotStep`, later in
   * the path: a request the read cache may answer takes none unless it goes to DingTalk. Absent
   * or false: taken here, in the same decision as the tenant's limits.
   */
  deferDingTalkSlot?: (c: Context<GatewayEnv>) => boolean;
  /**
   * A metered request's call of the month reserved with its limits, in one store call, when
   * `reservesCall(c)` says nothing between the limits and the quota step answers the request (no
   * read cache, no Idempotency-Key) and DingTalk's slot is taken with the limits (not deferred,
   * nobody queued for it). The quota step then takes that reservation (`reservedCall`).
   */
  withCall?: { store: LimitsWithCall; reservesCall: (c: Context<GatewayEnv>) => boolean; now: () => number } | undefined;
}

/** One hit of DingTalk's QPS window for `key` (app and operation): a slot, or when the next frees up. */
export async function qpsSlot(limits: RequestLimiter, key: string, dingtalkQpsLimit: number): Promise<SlotDecision> {
  const [outcome] = await limits.check([{ kind: 'window', key, policy: { limit: dingtalkQpsLimit, windowMs: DINGTALK_QPS_WINDOW_MS } }]);
  return outcome!.decision.allowed ? { allowed: true } : { allowed: false, retryAfterMs: outcome!.decision.retryAfterMs };
}

/** DingTalk's QPS limit is per app and API: one window (and one queue) per app and operation. */
export function qpsKeyOf(tenant: Tenant, operationId: string): string {
  return `app:${tenant.appId}:op:${operationId}`;
}

export function rateLimit(options: RateLimitOptions) {
  return stepMiddleware(rateLimitStep(options));
}

export function rateLimitStep(options: RateLimitOptions): Step {
  return rateLimitSteps(options).rateLimit;
}

/**
 * The two steps of one set of limits: `rateLimit` (the tenant's limits, and DingTalk's slot
 * unless deferred) and `dingtalkSlot` (a deferred slot, later in the path; nothing otherwise).
 */
export function rateLimitSteps(options: RateLimitOptions): { rateLimit: Step; dingtalkSlot: Step } {
  const { limits, metrics, qpsQueue, egressWindow: egress, withCall } = options;
  const guard = { limit: options.dingtalkQpsLimit, windowMs: DINGTALK_QPS_WINDOW_MS };

  const dingtalkSlot: Step = (c) => {
    if (c.get('dingtalkSlot') !== 'deferred') return undefined;
    c.set('dingtalkSlot', undefined);
    const tenant = c.get('tenant');
    const operationId = c.get('operation').operationId;
    const checks: LimitCheck[] = [];
    const queued = slotChecks(checks, tenant, operationId);
    return decide(c, checks, (outcomes) => slotAnswer(c, outcomes, 0, tenant, operationId, queued));
  };

  const rateLimit: Step = (c) => {
    const tenant = c.get('tenant');
    const operationId = c.get('operation').operationId;
    const operationPolicy = tenant.operationLimits.get(operationId);
    const checks: LimitCheck[] = [];
    if (operationPolicy) checks.push({ kind: 'rate', key: `tenant:${tenant.id}:op:${operationId}`, policy: operationPolicy });
    checks.push({ kind: 'rate', key: `tenant:${tenant.id}`, policy: tenant.rateLimit });
    const deferred = options.deferDingTalkSlot?.(c) === true;
    if (deferred) c.set('dingtalkSlot', 'deferred');
    const queued = deferred ? false : slotChecks(checks, tenant, operationId);
    const answer = (outcomes: LimitOutcome[]) => answerFor(c, outcomes, tenant, operationId, operationPolicy, deferred, queued);

    if (withCall !== undefined && !deferred && !queued && withCall.reservesCall(c)) {
      const at = withCall.now();
      const span = monthSpanOf(at);
      const decided = withCall.store.checkAndReserve(checks, tenant.account, operationId, span.month);
      if (decided !== undefined) {
        const outcomes = decided.then(({ outcomes, reservation }) => {
          if (reservation !== undefined) c.set('reservedCall', { reservation, at, span });
          return outcomes;
        });
        return decide(c, checks, answer, () => outcomes);
      }
    }
    return decide(c, checks, answer);
  };
  return { rateLimit, dingtalkSlot };

  /**
   * All of `checks` in one call (on Redis, one round trip; in memory, no promise at all, so the
   * answer comes without one too); it stops at the first refusal. A store that cannot answer is
   * `unavailable`.
   */
  function decide(
    c: Context<GatewayEnv>,
    checks: LimitCheck[],
    answer: (outcomes: LimitOutcome[]) => ReturnType<Step>,
    run: () => LimitOutcome[] | Promise<LimitOutcome[]> = () => limits.check(checks),
  ): ReturnType<Step> {
    const span = c.get('span')?.child('gateway.limits', { 'gateway.limits.checks': checks.length });
    let outcomes: LimitOutcome[] | Promise<LimitOutcome[]>;
    try {
      outcomes = run();
    } catch (error) {
      span?.end(undefined, (error as Error).message);
      return unavailable(c, error);
    }
    if (outcomes instanceof Promise) {
      if (span === undefined) return outcomes.then(answer, (error: unknown) => unavailable(c, error));
      return outcomes.then(
        (decided) => (span.end({ 'gateway.limits.allowed': decided.every((o) => o.decision.allowed) }), answer(decided)),
        (error: unknown) => (span.end(undefined, (error as Error).message), unavailable(c, error)),
      );
    }
    span?.end({ 'gateway.limits.allowed': outcomes.every((o) => o.decision.allowed) });
    return answer(outcomes);
  }

  /**
   * The checks of DingTalk's slot for this request: its QPS window, unless others already wait
   * for it (no slot taken before them: then it queues), and the per-IP window. Whether it queues.
   */
  function slotChecks(checks: LimitCheck[], tenant: Tenant, operationId: string): boolean {
    const qpsKey = qpsKeyOf(tenant, operationId);
    const queued = qpsQueue.waiting(qpsKey) > 0;
    if (!queued) checks.push({ kind: 'window', key: qpsKey, policy: guard });
    if (egress) checks.push({ kind: 'window', key: egress.key, policy: egress.policy });
    return queued;
  }

  /** The refusal the decisions call for, or `undefined` (and the `RateLimit` headers) when admitted. */
  function answerFor(
    c: Context<GatewayEnv>,
    outcomes: LimitOutcome[],
    tenant: Tenant,
    operationId: string,
    operationPolicy: RateLimitPolicy | undefined,
    deferred: boolean,
    queued: boolean,
  ): Response | undefined | Promise<Response | undefined> {
    let next = 0;
    if (operationPolicy) {
      const decision = (outcomes[next++] as RateOutcome).decision;
      if (!decision.allowed) {
        metrics.rateLimited.inc({ tenant: tenant.id, limit: 'operation' });
        const headers = rateLimitHeaders('operation', operationPolicy, decision);
        return gatewayError(c, 429, 'gateway.rateLimit.tenant', `rate limit of ${operationPolicy.rate} ${operationId} requests per second exceeded`, { headers: { ...headers } });
      }
    }

    const decision = (outcomes[next++] as RateOutcome).decision;
    const headers = rateLimitHeaders('tenant', tenant.rateLimit, decision);
    addAnswerHeader(c, 'ratelimit-policy', headers['RateLimit-Policy']);
    addAnswerHeader(c, 'ratelimit', headers.RateLimit);
    if (!decision.allowed) {
      metrics.rateLimited.inc({ tenant: tenant.id, limit: 'tenant' });
      return gatewayError(c, 429, 'gateway.rateLimit.tenant', `rate limit of ${tenant.rateLimit.rate} requests per second exceeded`, {
        headers: headers['Retry-After'] ? { 'Retry-After': headers['Retry-After'] } : {},
      });
    }

    return deferred ? undefined : slotAnswer(c, outcomes, next, tenant, operationId, queued);
  }

  /** DingTalk's slot, from the decisions at `next` on (see `slotChecks`): `undefined` when the call may go. */
  function slotAnswer(c: Context<GatewayEnv>, outcomes: LimitOutcome[], next: number, tenant: Tenant, operationId: string, queued: boolean): Response | undefined | Promise<Response | undefined> {
    // DingTalk's QPS limit: a slot now, or wait for one (no window decision: others already wait;
    // a refusal ends the decisions, so the per-IP window is then left to the egress guard).
    const qps = queued ? undefined : outcomes[next++]!.decision;
    if (qps !== undefined && !qps.allowed) return waitForSlot(c, tenant, operationId, qps.retryAfterMs);

    // DingTalk's per-IP window.
    const ip = egress ? outcomes[next]!.decision : undefined;
    if (ip !== undefined) {
      if (!ip.allowed) {
        metrics.rateLimited.inc({ tenant: tenant.id, limit: 'dingtalkIp' });
        return gatewayError(c, 429, 'gateway.rateLimit.dingtalkIp', `the egress IP is at DingTalk's limit of ${egress!.policy.limit} calls in ${egress!.policy.windowMs / 1000} s; app ${tenant.appId}'s call was not sent`, {
          headers: { 'retry-after': String(Math.max(1, Math.ceil(ip.retryAfterMs / 1000))) },
        });
      }
      c.set('egressCounted', true);
    }
    return queued ? waitForSlot(c, tenant, operationId, DINGTALK_QPS_WINDOW_MS) : undefined;
  }

  function waitForSlot(c: Context<GatewayEnv>, tenant: Tenant, operationId: string, retryAfterMs: number): Response | Promise<Response | undefined> {
    if (qpsQueue.maxWaitMs <= 0) return refusedSlot(c, { kind: 'timeout', waitedMs: 0, retryAfterMs }, tenant, operationId);
    const started = performance.now();
    return qpsQueue.wait(qpsKeyOf(tenant, operationId), tenant.id, c.req.raw.signal).then((outcome) => {
      metrics.qpsWait.observe({ operation: operationId, outcome: outcome.kind }, (performance.now() - started) / 1000);
      return outcome.kind === 'admitted' ? undefined : refusedSlot(c, outcome, tenant, operationId);
    });
  }

  function refusedSlot(c: Context<GatewayEnv>, outcome: Exclude<QueueOutcome, { kind: 'admitted' }>, tenant: Tenant, operationId: string): Response {
    switch (outcome.kind) {
      case 'closed':
        return gatewayError(c, 503, 'gateway.unavailable', 'the gateway is shutting down; send the request again', { headers: { 'retry-after': '1' } });
      case 'unavailable':
        return unavailable(c, outcome.error);
      default: {
        const retryAfterMs = outcome.kind === 'gone' ? 1_000 : outcome.retryAfterMs;
        const why =
          outcome.kind === 'full' ? ', and too many requests already wait for its slots' : qpsQueue.maxWaitMs > 0 ? `, and no slot freed up within ${qpsQueue.maxWaitMs} ms` : '';
        return dingtalkQpsRefusal(c, metrics, tenant, `DingTalk app ${tenant.appId} is at DingTalk's limit of ${options.dingtalkQpsLimit} ${operationId} calls per second${why}`, retryAfterMs / 1000);
      }
    }
  }
}

/** The limiter's store could not be reached: 503 (what to do meanwhile is the store's fallback's business). */
function unavailable(c: Context<GatewayEnv>, error: unknown): Response {
  if (error instanceof RateLimiterUnavailableError) {
    return gatewayError(c, 503, 'gateway.unavailable', 'the rate limiter is unavailable; try again shortly', { headers: { 'Retry-After': '1' } });
  }
  throw error;
}

type RateOutcome = Extract<LimitOutcome, { kind: 'rate' }>;
