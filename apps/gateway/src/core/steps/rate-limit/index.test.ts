import { MemoryQuotaLedger, monthOf } from '@dingtalk-gateway/call-quota';
import { type LimitCheck, type LimitOutcome, MemoryRequestLimiter, type RateLimitPolicy, RateLimiterUnavailableError, type RequestLimiter } from '@dingtalk-gateway/rate-limiter';
import type { OperationInfo } from '@dingtalk-gateway/spec-validator';
import { Hono } from 'hono';
import { describe, expect, it, vi } from 'vitest';
import type { GatewayEnv } from '../../context.js';
import { beforeSteps } from '../before-steps.testing.js';
import { type PrometheusMetrics, createPrometheusMetrics } from '../../../adapters/node/prometheus-metrics.js';
import type { Tenant } from '../../tenants.js';
import { QpsQueue } from '../../qps/queue.js';
import type { LimitsWithCall } from '../../quota/limits-with-call.js';
import { stepMiddleware } from '../step.js';
import { DINGTALK_QPS_WINDOW_MS, qpsSlot, rateLimitSteps } from './index.js';

const tenant = (id: string, appId: string, rateLimit: RateLimitPolicy, operationLimits: Record<string, RateLimitPolicy> = {}): Tenant => ({
  id,
  name: id,
  appId,
  scopes: new Set(),
  rateLimit,
  operationLimits: new Map(Object.entries(operationLimits)),
  account: { org: 'default', quota: 10_000, tenant: id, allocation: undefined, pool: 10_000 },
});

const operation = (operationId: string): OperationInfo => ({ operationId, method: 'GET', pathTemplate: `/${operationId}`, permission: 'P', hasBody: false, bodyRequired: false, metered: true });

const GENEROUS: RateLimitPolicy = { rate: 1000, burst: 1000 };

/**
 * The middleware with a limiter on a clock the test moves (`advance`), or on the timers' clock
 * (`timersClock`, for tests that fake the timers and let requests wait for QPS slots).
 */
function setup(options: {
  tenants: Tenant[];
  dingtalkQpsLimit?: number;
  /** Default: the gateway's own in-memory limits (decided at once), on the test's clock. */
  limits?: RequestLimiter;
  /** How long a request waits for a QPS slot: none unless a test says so. */
  qpsMaxWaitMs?: number;
  qpsMaxQueued?: number;
  timersClock?: boolean;
  egressWindow?: { key: string; policy: { limit: number; windowMs: number } };
  /** Operations whose DingTalk slot is deferred to the later step (a cache would stand between). */
  deferred?: string[];
  /** Between the two steps: answers instead of going on when it returns a response (a cache hit). */
  between?: (operationId: string) => Response | undefined;
  /** The limits and the call of the month in one store call, for the operations `reservesCall` names. */
  withCall?: { store: LimitsWithCall; reservesCall: (operationId: string) => boolean };
}) {
  let clock = 1_000_000;
  const now = options.timersClock ? () => Date.now() : () => clock;
  const limits = options.limits ?? new MemoryRequestLimiter({ clock: { now } });
  const metrics = createPrometheusMetrics();
  const downstream = vi.fn();
  const errors: unknown[] = [];
  const byId = new Map(options.tenants.map((t) => [t.id, t]));
  const app = new Hono<GatewayEnv>();
  app.use(
    '*',
    beforeSteps((c) => {
      c.set('tenant', byId.get(c.req.header('x-tenant')!)!);
      c.set('operation', operation(c.req.path.slice(1)));
    }),
  );
  const dingtalkQpsLimit = options.dingtalkQpsLimit ?? 100_000;
  const qpsQueue = new QpsQueue({
    take: (key) => qpsSlot(limits, key, dingtalkQpsLimit),
    maxWaitMs: options.qpsMaxWaitMs ?? 0,
    maxQueued: options.qpsMaxQueued ?? 1_000,
    ...(options.timersClock ? { now } : {}),
  });
  const steps = rateLimitSteps({
    limits,
    dingtalkQpsLimit,
    qpsQueue,
    egressWindow: options.egressWindow,
    metrics,
    ...(options.deferred ? { deferDingTalkSlot: (c) => options.deferred!.includes(c.get('operation').operationId) } : {}),
    ...(options.withCall ? { withCall: { store: options.withCall.store, reservesCall: (c) => options.withCall!.reservesCall(c.get('operation').operationId), now } } : {}),
  });
  app.use('*', stepMiddleware(steps.rateLimit));
  app.use('*', async (c, next) => options.between?.(c.get('operation').operationId) ?? next());
  app.use('*', stepMiddleware(steps.dingtalkSlot));
  app.all('*', (c) => {
    downstream();
    const reserved = c.get('reservedCall');
    return c.text('through', 200, { 'x-egress-counted': String(c.get('egressCounted') ?? false), 'x-reserved': reserved ? `${reserved.span.month}:${reserved.reservation.granted}` : '-' });
  });
  app.onError((error, c) => {
    errors.push(error);
    return c.text('internal', 500);
  });
  const call = (tenantId: string, operationId = 'listWorkspaces', signal?: AbortSignal) =>
    Promise.resolve(app.request(`/${operationId}`, { headers: { 'x-tenant': tenantId }, ...(signal ? { signal } : {}) }));
  return {
    call,
    metrics,
    qpsQueue,
    downstream,
    errors,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

async function rateLimited(metrics: PrometheusMetrics) {
  const { values } = await metrics.rateLimited.get();
  return Object.fromEntries(values.map((v) => [`${v.labels.tenant}/${v.labels.limit}`, v.value]));
}

async function expectRefused(response: Response, code: string, retryAfter: string) {
  expect(response.status).toBe(429);
  expect(response.headers.get('retry-after')).toBe(retryAfter);
  expect(response.headers.get('x-error-code')).toBe(code);
  const body = (await response.json()) as Record<string, unknown>;
  expect(body).toEqual({ code, message: expect.any(String), requestid: 'r-1' });
  return body.message as string;
}

describe('rateLimit: the tenant limit', () => {
  it('admits the burst, with exact RateLimit-Policy / RateLimit headers, then refuses with Retry-After', async () => {
    const h = setup({ tenants: [tenant('team', 'app', { rate: 1, burst: 3 })] });
    const responses = [];
    for (let i = 0; i < 4; i++) responses.push(await h.call('team'));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(responses.map((r) => r.headers.get('ratelimit-policy'))).toEqual(Array(4).fill('"tenant";q=3;w=3'));
    expect(responses.map((r) => r.headers.get('ratelimit'))).toEqual(['"tenant";r=2;t=1', '"tenant";r=1;t=2', '"tenant";r=0;t=3', '"tenant";r=0;t=3']);
    expect(responses.slice(0, 3).map((r) => r.headers.get('retry-after'))).toEqual([null, null, null]);
    const message = await expectRefused(responses[3]!, 'gateway.rateLimit.tenant', '1');
    expect(message).toBe('rate limit of 1 requests per second exceeded');
    expect(h.downstream).toHaveBeenCalledTimes(3);
    expect(await rateLimited(h.metrics)).toEqual({ 'team/tenant': 1 });
  });

  it('says how long to wait, rounded up to whole seconds, and admits again after it', async () => {
    const h = setup({ tenants: [tenant('slow', 'app', { rate: 0.4, burst: 1 })] });
    expect((await h.call('slow')).status).toBe(200);
    await expectRefused(await h.call('slow'), 'gateway.rateLimit.tenant', '3'); // 2.5 s → 3
    h.advance(2_000);
    await expectRefused(await h.call('slow'), 'gateway.rateLimit.tenant', '1'); // 0.5 s → 1
    h.advance(500);
    expect((await h.call('slow')).status).toBe(200);
  });

  it('keeps each tenant on its own budget', async () => {
    const h = setup({ tenants: [tenant('a', 'app', { rate: 1, burst: 1 }), tenant('b', 'app', { rate: 1, burst: 1 })] });
    expect((await h.call('a')).status).toBe(200);
    expect((await h.call('a')).status).toBe(429);
    expect((await h.call('b')).status).toBe(200);
    expect(await rateLimited(h.metrics)).toEqual({ 'a/tenant': 1 });
  });
});

describe('rateLimit: per-operation limits', () => {
  it("applies the tenant's limit for one operation, with that policy's headers", async () => {
    const h = setup({ tenants: [tenant('team', 'app', GENEROUS, { addSpace: { rate: 0.5, burst: 1 } })] });
    expect((await h.call('team', 'addSpace')).status).toBe(200);
    const refused = await h.call('team', 'addSpace');
    const message = await expectRefused(refused, 'gateway.rateLimit.tenant', '2');
    expect(message).toBe('rate limit of 0.5 addSpace requests per second exceeded');
    expect(refused.headers.get('ratelimit-policy')).toBe('"operation";q=1;w=2');
    expect(refused.headers.get('ratelimit')).toBe('"operation";r=0;t=2');
    // Other operations of the same tenant are not held back by it.
    expect((await h.call('team', 'listWorkspaces')).status).toBe(200);
    expect(await rateLimited(h.metrics)).toEqual({ 'team/operation': 1 });
    expect(h.downstream).toHaveBeenCalledTimes(2);
  });

  it("does not spend the tenant's overall budget on a request its operation limit refused", async () => {
    const h = setup({ tenants: [tenant('team', 'app', { rate: 1, burst: 2 }, { addSpace: { rate: 1, burst: 1 } })] });
    expect((await h.call('team', 'addSpace')).headers.get('ratelimit')).toBe('"tenant";r=1;t=1');
    expect((await h.call('team', 'addSpace')).status).toBe(429);
    const next = await h.call('team', 'listWorkspaces');
    expect(next.status).toBe(200);
    expect(next.headers.get('ratelimit')).toBe('"tenant";r=0;t=2');
  });

  it('leaves operations without a limit of their own to the tenant limit only', async () => {
    const h = setup({ tenants: [tenant('team', 'app', { rate: 1, burst: 2 }, { addSpace: { rate: 1, burst: 1 } })] });
    expect((await h.call('team', 'getWorkspace')).status).toBe(200);
    expect((await h.call('team', 'getWorkspace')).status).toBe(200);
    await expectRefused(await h.call('team', 'getWorkspace'), 'gateway.rateLimit.tenant', '1');
  });
});

describe("rateLimit: DingTalk's per-app QPS guard", () => {
  const tenants = [tenant('a1', 'app-x', GENEROUS), tenant('a2', 'app-x', GENEROUS), tenant('b1', 'app-y', GENEROUS)];

  it('is shared by the tenants of one app, per operation, and not across apps (refused at once when requests may not wait)', async () => {
    const h = setup({ tenants, dingtalkQpsLimit: 2, qpsMaxWaitMs: 0 });
    expect((await h.call('a1', 'getWorkspace')).status).toBe(200);
    expect((await h.call('a2', 'getWorkspace')).status).toBe(200);
    const refused = await h.call('a2', 'getWorkspace');
    const message = await expectRefused(refused, 'gateway.rateLimit.dingtalkQps', '2');
    expect(message).toBe("DingTalk app app-x is at DingTalk's limit of 2 getWorkspace calls per second");
    // The tenant's own limit still answered with its headers.
    expect(refused.headers.get('ratelimit-policy')).toBe('"tenant";q=1000;w=1');
    expect((await h.call('b1', 'getWorkspace')).status).toBe(200);
    expect((await h.call('a2', 'listWorkspaces')).status).toBe(200);
    expect(await rateLimited(h.metrics)).toEqual({ 'a2/dingtalkQps': 1 });
    h.advance(DINGTALK_QPS_WINDOW_MS);
    expect((await h.call('a2', 'getWorkspace')).status).toBe(200);
  });

  it('lets a full burst of the QPS limit through at once, and never more in any second', async () => {
    const h = setup({ tenants, dingtalkQpsLimit: 20 });
    const admittedAt: number[] = [];
    let now = 0;
    for (let step = 0; step < 300; step++) {
      for (let i = 0; i < 5; i++) if ((await h.call(i % 2 ? 'a1' : 'a2', 'getWorkspace')).status === 200) admittedAt.push(now);
      h.advance(17);
      now += 17;
    }
    expect(admittedAt.filter((t) => t === 0)).toHaveLength(5);
    expect(admittedAt.filter((t) => t < 100)).toHaveLength(20);
    for (const start of admittedAt) expect(admittedAt.filter((t) => t >= start && t < start + 1_000).length).toBeLessThanOrEqual(20);
  });
});

describe("rateLimit: waiting for DingTalk's QPS slots", () => {
  const tenants = [tenant('a1', 'app-x', GENEROUS), tenant('a2', 'app-x', GENEROUS)];

  /** Requests sent at once, each answered with its status and when (ms after sending). */
  async function burst(h: ReturnType<typeof setup>, senders: string[], run: () => Promise<unknown>) {
    const sentAt = Date.now();
    const answers = senders.map((sender) => h.call(sender, 'getWorkspace').then((response) => ({ sender, status: response.status, at: Date.now() - sentAt, response })));
    await run();
    return Promise.all(answers);
  }

  it('makes requests over the limit wait for the next slots instead of refusing them', async () => {
    vi.useFakeTimers();
    try {
      const h = setup({ tenants, dingtalkQpsLimit: 2, qpsMaxWaitMs: 2_500, timersClock: true });
      const answers = await burst(h, ['a1', 'a2', 'a1', 'a2', 'a1', 'a2'], () => vi.advanceTimersByTimeAsync(2_400));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
      // Two at once, two when the window frees them, two a window later: never more than 2 in a window.
      expect(answers.map((a) => Math.floor(a.at / DINGTALK_QPS_WINDOW_MS))).toEqual([0, 0, 1, 1, 2, 2]);
      expect(h.downstream).toHaveBeenCalledTimes(6);
      expect(await rateLimited(h.metrics)).toEqual({});
      const waits = (await h.metrics.qpsWait.get()).values.filter((v) => v.metricName === 'dtg_qps_wait_seconds_count');
      expect(waits).toEqual([expect.objectContaining({ labels: { operation: 'getWorkspace', outcome: 'admitted' }, value: 4 })]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses past the longest wait, with the Retry-After of the window, and at once when the queue is full', async () => {
    vi.useFakeTimers();
    try {
      const h = setup({ tenants, dingtalkQpsLimit: 1, qpsMaxWaitMs: 500, qpsMaxQueued: 2, timersClock: true });
      const answers = await burst(h, ['a1', 'a1', 'a2', 'a2'], () => vi.advanceTimersByTimeAsync(600));
      expect(answers.map((a) => [a.sender, a.status])).toEqual([
        ['a1', 200],
        ['a1', 429],
        ['a2', 429],
        ['a2', 429],
      ]);
      const full = await expectRefused(answers[3]!.response, 'gateway.rateLimit.dingtalkQps', '1');
      expect(full).toBe("DingTalk app app-x is at DingTalk's limit of 1 getWorkspace calls per second, and too many requests already wait for its slots");
      expect(answers[3]!.at).toBe(0);
      const late = await expectRefused(answers[1]!.response, 'gateway.rateLimit.dingtalkQps', '1');
      expect(late).toBe("DingTalk app app-x is at DingTalk's limit of 1 getWorkspace calls per second, and no slot freed up within 500 ms");
      expect(answers[1]!.at).toBe(500);
      expect(await rateLimited(h.metrics)).toEqual({ 'a1/dingtalkQps': 1, 'a2/dingtalkQps': 2 });
      expect(h.downstream).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('queues a newcomer behind the requests already waiting, even when the window has a slot for it', async () => {
    vi.useFakeTimers();
    try {
      const h = setup({ tenants, dingtalkQpsLimit: 1, qpsMaxWaitMs: 5_000, timersClock: true });
      const order: string[] = [];
      const send = (label: string, sender: string) => h.call(sender, 'getWorkspace').then((r) => order.push(`${label}:${r.status}`));
      const sent = [send('first', 'a1'), send('second', 'a1'), send('third', 'a2')];
      // The window frees a slot at 1,050 ms; the queue's head has it, not a newcomer.
      await vi.advanceTimersByTimeAsync(DINGTALK_QPS_WINDOW_MS);
      sent.push(send('newcomer', 'a1'));
      expect(h.qpsQueue.waiting('app:app-x:op:getWorkspace')).toBeGreaterThan(0);
      await vi.advanceTimersByTimeAsync(4 * DINGTALK_QPS_WINDOW_MS);
      await Promise.all(sent);
      expect(order).toEqual(['first:200', 'second:200', 'third:200', 'newcomer:200']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('lets a caller that hangs up leave the queue without reaching DingTalk, and answers the rest 503 on close', async () => {
    vi.useFakeTimers();
    try {
      const h = setup({ tenants, dingtalkQpsLimit: 1, qpsMaxWaitMs: 5_000, timersClock: true });
      expect((await h.call('a1', 'getWorkspace')).status).toBe(200);
      const hangUp = new AbortController();
      const leaving = h.call('a1', 'getWorkspace', hangUp.signal).catch((error: unknown) => error);
      const staying = h.call('a2', 'getWorkspace');
      await vi.advanceTimersByTimeAsync(10);
      expect(h.qpsQueue.size).toBe(2);
      hangUp.abort();
      await vi.advanceTimersByTimeAsync(10);
      expect(h.qpsQueue.size).toBe(1);
      h.qpsQueue.close();
      const closed = await staying;
      expect(closed.status).toBe(503);
      expect(closed.headers.get('retry-after')).toBe('1');
      expect(((await closed.json()) as { code: string }).code).toBe('gateway.unavailable');
      await leaving;
      expect(h.downstream).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("rateLimit: DingTalk's per-IP window", () => {
  const tenants = [tenant('a1', 'app-x', GENEROUS), tenant('b1', 'app-y', GENEROUS)];

  it('takes the call\'s slot with the other limits, shared by every app and tenant, and refuses past it with 429 gateway.rateLimit.dingtalkIp', async () => {
    const h = setup({ tenants, egressWindow: { key: 'egress:default', policy: { limit: 3, windowMs: 20_000 } } });
    const answers = [await h.call('a1', 'getWorkspace'), await h.call('b1', 'listWorkspaces'), await h.call('a1', 'addSpace'), await h.call('b1', 'getWorkspace')];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
    expect(answers.slice(0, 3).map((a) => a.headers.get('x-egress-counted'))).toEqual(['true', 'true', 'true']);
    const message = await expectRefused(answers[3]!, 'gateway.rateLimit.dingtalkIp', '20');
    expect(message).toBe("the egress IP is at DingTalk's limit of 3 calls in 20 s; app app-y's call was not sent");
    expect(await rateLimited(h.metrics)).toEqual({ 'b1/dingtalkIp': 1 });
    h.advance(20_000);
    expect((await h.call('b1')).status).toBe(200);
  });

  it("takes no slot for a request its tenant's limit refused, nor for one that waits for a QPS slot (the egress guard takes it then)", async () => {
    const h = setup({ tenants: [tenant('slow', 'app-x', { rate: 1, burst: 1 })], dingtalkQpsLimit: 1, egressWindow: { key: 'egress:default', policy: { limit: 2, windowMs: 20_000 } } });
    expect((await h.call('slow')).status).toBe(200);
    expect((await h.call('slow')).status).toBe(429); // its rate
    h.advance(1_000);
    const queued = await h.call('slow'); // at the QPS limit, not waiting (qpsMaxWaitMs 0): refused, no egress slot
    expect(((await queued.json()) as { code: string }).code).toBe('gateway.rateLimit.dingtalkQps');
    h.advance(DINGTALK_QPS_WINDOW_MS);
    const through = await h.call('slow');
    expect(through.status).toBe(200);
    expect(through.headers.get('x-egress-counted')).toBe('true');
  });
});

describe("rateLimit: DingTalk's slot deferred (a read cache between)", () => {
  it('takes no QPS or per-IP slot for a request answered in between, and takes them later for one that goes on', async () => {
    let cached = true;
    const h = setup({
      tenants: [tenant('team', 'app-x', GENEROUS)],
      dingtalkQpsLimit: 1,
      egressWindow: { key: 'egress:default', policy: { limit: 2, windowMs: 20_000 } },
      deferred: ['getWorkspace'],
      between: (operationId) => (cached && operationId === 'getWorkspace' ? new Response('from the cache') : undefined),
    });
    // Answered in between, many times over a QPS limit of 1: the tenant's limit counted, no DingTalk slot.
    for (let i = 0; i < 5; i++) expect(await (await h.call('team', 'getWorkspace')).text()).toBe('from the cache');
    expect((await h.call('team', 'getWorkspace')).headers.get('ratelimit')).toBe('"tenant";r=994;t=1');
    cached = false;
    const through = await h.call('team', 'getWorkspace');
    expect(await through.text()).toBe('through');
    expect(through.headers.get('x-egress-counted')).toBe('true');
    // The slot was taken by the later step: the next one is over DingTalk's QPS limit (not waiting here).
    expect(((await (await h.call('team', 'getWorkspace')).json()) as { code: string }).code).toBe('gateway.rateLimit.dingtalkQps');
    // An operation not deferred takes its slot in the first step, as before (the second of the per-IP window's two).
    expect((await h.call('team', 'listWorkspaces')).status).toBe(200);
    expect(((await (await h.call('team', 'addSpace')).json()) as { code: string }).code).toBe('gateway.rateLimit.dingtalkIp');
  });
});

describe('rateLimit: when the limiter fails', () => {
  it('answers 503 gateway.unavailable with Retry-After when the limiter is unavailable', async () => {
    const limits: RequestLimiter = { check: vi.fn(async () => Promise.reject(new RateLimiterUnavailableError('timeout', 'redis did not answer'))) };
    const h = setup({ tenants: [tenant('team', 'app', GENEROUS)], limits });
    const response = await h.call('team');
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(response.headers.get('x-error-code')).toBe('gateway.unavailable');
    expect(await response.json()).toEqual({ code: 'gateway.unavailable', message: 'the rate limiter is unavailable; try again shortly', requestid: 'r-1' });
    expect(h.downstream).not.toHaveBeenCalled();
  });

  it('answers 503 too when a limiter that decides at once fails at once, and lets a bug through', async () => {
    const down: RequestLimiter = {
      check: () => {
        throw new RateLimiterUnavailableError('error', 'store gone');
      },
    };
    expect((await setup({ tenants: [tenant('team', 'app', GENEROUS)], limits: down }).call('team')).status).toBe(503);
    const bug = new TypeError('not a policy');
    const broken: RequestLimiter = {
      check: () => {
        throw bug;
      },
    };
    const h = setup({ tenants: [tenant('team', 'app', GENEROUS)], limits: broken });
    expect((await h.call('team')).status).toBe(500);
    expect(h.errors).toEqual([bug]);
  });

  it('lets any other limiter error through to the error handler (a bug, not an outage)', async () => {
    const bug = new RangeError('rate limit policy: rate must be a finite number > 0');
    const limits: RequestLimiter = { check: vi.fn(async () => Promise.reject(bug)) };
    const h = setup({ tenants: [tenant('team', 'app', GENEROUS)], limits });
    expect((await h.call('team')).status).toBe(500);
    expect(h.errors).toEqual([bug]);
    expect(h.downstream).not.toHaveBeenCalled();
  });

  it("answers 503 when the DingTalk slot's decision is unavailable, the tenant's limits admitted", async () => {
    const memory = new MemoryRequestLimiter();
    // The tenant's limits decided (the first step); the deferred slot's window check fails (the later step).
    const limits: RequestLimiter = {
      check: async (checks) => (checks.every((check) => check.kind === 'rate') ? memory.check(checks) : Promise.reject(new RateLimiterUnavailableError('error', 'connection refused'))),
    };
    const h = setup({ tenants: [tenant('team', 'app', GENEROUS)], limits, deferred: ['listWorkspaces'] });
    const response = await h.call('team');
    expect(response.status).toBe(503);
    expect(response.headers.get('ratelimit')).toBe('"tenant";r=999;t=1');
    expect(h.downstream).not.toHaveBeenCalled();
  });

  it('uses one key per budget, all in one decision: operation, tenant and app+operation', async () => {
    const limits = new MemoryRequestLimiter();
    const spy = vi.spyOn(limits, 'check');
    const h = setup({ tenants: [tenant('team', 'app-x', GENEROUS, { addSpace: { rate: 1, burst: 5 } })], limits, dingtalkQpsLimit: 20 });
    await h.call('team', 'addSpace');
    expect(spy.mock.calls).toEqual([
      [
        [
          { kind: 'rate', key: 'tenant:team:op:addSpace', policy: { rate: 1, burst: 5 } },
          { kind: 'rate', key: 'tenant:team', policy: GENEROUS },
          { kind: 'window', key: 'app:app-x:op:addSpace', policy: { limit: 20, windowMs: DINGTALK_QPS_WINDOW_MS } },
        ] satisfies LimitCheck[],
      ],
    ]);
  });
});

describe("rateLimit: the call of the month reserved with the limits (LimitsWithCall)", () => {
  /** A store deciding the limits in memory and reserving in a memory ledger in the same call; `available: false` says "not now". */
  function combined(limits: RequestLimiter, ledger: MemoryQuotaLedger, available = () => true) {
    const asked: string[] = [];
    const store: LimitsWithCall = {
      checkAndReserve(checks, account, operationId, month) {
        asked.push(operationId);
        if (!available()) return undefined;
        const outcomes = limits.check(checks) as LimitOutcome[];
        const admitted = outcomes.every((o) => o.decision.allowed);
        return Promise.resolve({ outcomes, reservation: admitted ? ledger.reserve(account, operationId, month) : undefined });
      },
    };
    return { store, asked };
  }
  const used = (ledger: MemoryQuotaLedger, operationId: string) => ledger.orgUsage('default', monthOf(1_000_000)).tenants.team?.operations[operationId] ?? 0;

  it('reserves the call with the limits for a request that goes on to DingTalk, and none for one a limit refuses', async () => {
    const limits = new MemoryRequestLimiter({ clock: { now: () => 1_000_000 } });
    const ledger = new MemoryQuotaLedger();
    const { store, asked } = combined(limits, ledger);
    const h = setup({ tenants: [tenant('team', 'app', { rate: 1, burst: 1 })], limits, withCall: { store, reservesCall: () => true } });
    const admitted = await h.call('team');
    expect(admitted.status).toBe(200);
    expect(admitted.headers.get('x-reserved')).toBe(`${monthOf(1_000_000)}:true`);
    await expectRefused(await h.call('team'), 'gateway.rateLimit.tenant', '1');
    expect(asked).toEqual(['listWorkspaces', 'listWorkspaces']);
    expect(used(ledger, 'listWorkspaces')).toBe(1);
  });

  it('leaves the call to the quota step when something may answer first, others queue for the slot, or the store cannot now', async () => {
    const limits = new MemoryRequestLimiter({ clock: { now: () => 1_000_000 } });
    const ledger = new MemoryQuotaLedger();
    let available = true;
    const { store, asked } = combined(limits, ledger, () => available);
    const h = setup({
      tenants: [tenant('team', 'app', GENEROUS)],
      limits,
      deferred: ['getWorkspace'],
      withCall: { store, reservesCall: (operationId) => operationId !== 'addSpace' },
    });
    // A read the cache may answer (its slot deferred), a request an Idempotency-Key's record may answer.
    for (const operationId of ['getWorkspace', 'addSpace']) expect((await h.call('team', operationId)).headers.get('x-reserved')).toBe('-');
    expect(asked).toEqual([]);
    // The store cannot now (a fallback decides): the limits alone.
    available = false;
    const alone = await h.call('team');
    expect([alone.status, alone.headers.get('x-reserved')]).toEqual([200, '-']);
    expect(asked).toEqual(['listWorkspaces']);
    expect(used(ledger, 'listWorkspaces')).toBe(0);
  });

  it('reserves none for a request that waits behind others for a DingTalk QPS slot', async () => {
    const limits = new MemoryRequestLimiter({ clock: { now: () => 1_000_000 } });
    const { store, asked } = combined(limits, new MemoryQuotaLedger());
    const h = setup({ tenants: [tenant('team', 'app', GENEROUS)], limits, qpsMaxWaitMs: 1_000, withCall: { store, reservesCall: () => true } });
    vi.spyOn(h.qpsQueue, 'waiting').mockReturnValue(1);
    vi.spyOn(h.qpsQueue, 'wait').mockResolvedValue({ kind: 'admitted', waitedMs: 5 });
    const queued = await h.call('team');
    expect([queued.status, queued.headers.get('x-reserved')]).toEqual([200, '-']);
    expect(asked).toEqual([]);
  });
});
