import { MemoryRateLimiter, type RateLimitPolicy, type RateLimiter, RateLimiterUnavailableError } from '@dingtalk-gateway/rate-limiter';
import type { OperationInfo } from '@dingtalk-gateway/spec-validator';
import { Hono } from 'hono';
import { describe, expect, it, vi } from 'vitest';
import type { GatewayEnv } from '../../context.js';
import { type GatewayMetrics, createGatewayMetrics } from '../../observability/metrics.js';
import type { Tenant } from '../../tenants.js';
import { dingtalkQpsGuardPolicy, rateLimit } from './index.js';

const tenant = (id: string, appId: string, rateLimit: RateLimitPolicy, operationLimits: Record<string, RateLimitPolicy> = {}): Tenant => ({
  id,
  name: id,
  appId,
  scopes: new Set(),
  rateLimit,
  operationLimits: new Map(Object.entries(operationLimits)),
});

const operation = (operationId: string): OperationInfo => ({ operationId, method: 'GET', pathTemplate: `/${operationId}`, permission: 'P', hasBody: false, bodyRequired: false });

const GENEROUS: RateLimitPolicy = { rate: 1000, burst: 1000 };

/** The middleware with a limiter on a clock the test moves. */
function setup(options: { tenants: Tenant[]; dingtalkQpsLimit?: number; limiter?: RateLimiter }) {
  let clock = 1_000_000;
  const limiter = options.limiter ?? new MemoryRateLimiter({ clock: { now: () => clock } });
  const metrics = createGatewayMetrics();
  const downstream = vi.fn();
  const errors: unknown[] = [];
  const byId = new Map(options.tenants.map((t) => [t.id, t]));
  const app = new Hono<GatewayEnv>();
  app.use('*', async (c, next) => {
    c.set('requestId', 'r-1');
    c.set('log', {});
    c.set('tenant', byId.get(c.req.header('x-tenant')!)!);
    c.set('operation', operation(c.req.path.slice(1)));
    await next();
    c.header('x-error-code', c.get('log').errorCode ?? '-');
  });
  app.use('*', rateLimit({ limiter, dingtalkQpsLimit: options.dingtalkQpsLimit ?? 100_000, metrics }));
  app.all('*', (c) => {
    downstream();
    return c.text('through');
  });
  app.onError((error, c) => {
    errors.push(error);
    return c.text('internal', 500);
  });
  const call = (tenantId: string, operationId = 'listWorkspaces') => Promise.resolve(app.request(`/${operationId}`, { headers: { 'x-tenant': tenantId } }));
  return {
    call,
    metrics,
    downstream,
    errors,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

async function rateLimited(metrics: GatewayMetrics) {
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

  it('is shared by the tenants of one app, per operation, and not across apps', async () => {
    // qps 2 → burst 1: one call per operation at once, per app.
    const h = setup({ tenants, dingtalkQpsLimit: 2 });
    expect((await h.call('a1', 'getWorkspace')).status).toBe(200);
    const refused = await h.call('a2', 'getWorkspace');
    const message = await expectRefused(refused, 'gateway.rateLimit.dingtalkQps', '1');
    expect(message).toBe("DingTalk app app-x is at DingTalk's limit of 2 getWorkspace calls per second");
    // The tenant's own limit still answered with its headers.
    expect(refused.headers.get('ratelimit-policy')).toBe('"tenant";q=1000;w=1');
    expect((await h.call('b1', 'getWorkspace')).status).toBe(200);
    expect((await h.call('a2', 'listWorkspaces')).status).toBe(200);
    expect(await rateLimited(h.metrics)).toEqual({ 'a2/dingtalkQps': 1 });
    h.advance(1_000);
    expect((await h.call('a2', 'getWorkspace')).status).toBe(200);
  });

  it('never lets more than the QPS limit through in one second, however many tenants share the app', async () => {
    const h = setup({ tenants, dingtalkQpsLimit: 20 });
    const statuses = [];
    for (let i = 0; i < 60; i++) statuses.push((await h.call(i % 2 ? 'a1' : 'a2', 'getWorkspace')).status);
    const admitted = statuses.filter((s) => s === 200).length;
    expect(admitted).toBe(dingtalkQpsGuardPolicy(20).burst);
    h.advance(999);
    for (let i = 0; i < 60; i++) statuses.push((await h.call(i % 2 ? 'a1' : 'a2', 'getWorkspace')).status);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(20);
  });
});

describe('rateLimit: when the limiter fails', () => {
  it('answers 503 gateway.unavailable with Retry-After when the limiter is unavailable', async () => {
    const limiter: RateLimiter = { limit: vi.fn(async () => Promise.reject(new RateLimiterUnavailableError('timeout', 'redis did not answer'))) };
    const h = setup({ tenants: [tenant('team', 'app', GENEROUS)], limiter });
    const response = await h.call('team');
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(response.headers.get('x-error-code')).toBe('gateway.unavailable');
    expect(await response.json()).toEqual({ code: 'gateway.unavailable', message: 'the rate limiter is unavailable; try again shortly', requestid: 'r-1' });
    expect(h.downstream).not.toHaveBeenCalled();
  });

  it('lets any other limiter error through to the error handler (a bug, not an outage)', async () => {
    const bug = new RangeError('rate limit policy: rate must be a finite number > 0');
    const limiter: RateLimiter = { limit: vi.fn(async () => Promise.reject(bug)) };
    const h = setup({ tenants: [tenant('team', 'app', GENEROUS)], limiter });
    expect((await h.call('team')).status).toBe(500);
    expect(h.errors).toEqual([bug]);
    expect(h.downstream).not.toHaveBeenCalled();
  });

  it('uses one key per budget: operation, tenant and app+operation', async () => {
    const limiter = new MemoryRateLimiter();
    const spy = vi.spyOn(limiter, 'limit');
    const h = setup({ tenants: [tenant('team', 'app-x', GENEROUS, { addSpace: { rate: 1, burst: 5 } })], limiter, dingtalkQpsLimit: 20 });
    await h.call('team', 'addSpace');
    expect(spy.mock.calls.map(([key, policy]) => [key, policy])).toEqual([
      ['tenant:team:op:addSpace', { rate: 1, burst: 5 }],
      ['tenant:team', GENEROUS],
      ['app:app-x:op:addSpace', dingtalkQpsGuardPolicy(20)],
    ]);
  });
});

describe('dingtalkQpsGuardPolicy', () => {
  it('keeps burst + floor(rate) <= q, a burst >= 1 and at least half the limit sustained, for q = 1..200', () => {
    for (let q = 1; q <= 200; q++) {
      const { burst, rate } = dingtalkQpsGuardPolicy(q);
      expect(Number.isInteger(burst), `q=${q}`).toBe(true);
      expect(burst, `q=${q}`).toBeGreaterThanOrEqual(1);
      expect(rate, `q=${q}`).toBeGreaterThan(0);
      expect(burst + Math.floor(rate), `q=${q}`).toBeLessThanOrEqual(q);
      expect(rate, `q=${q}`).toBeGreaterThanOrEqual(q / 2);
    }
  });

  it('admits at most q requests in any one-second window under a flood, for q = 1..200', async () => {
    for (let q = 1; q <= 200; q++) {
      const policy = dingtalkQpsGuardPolicy(q);
      let now = 0;
      const limiter = new MemoryRateLimiter({ clock: { now: () => now } });
      const admitted: number[] = [];
      // Flood for 3 s: ask again the moment a refusal says it could pass.
      while (now < 3_000) {
        const decision = await limiter.limit('k', policy);
        if (decision.allowed) admitted.push(now);
        else now += decision.retryAfterMs;
      }
      let start = 0;
      let busiest = 0;
      for (let end = 0; end < admitted.length; end++) {
        while (admitted[end]! - admitted[start]! >= 1_000) start++;
        busiest = Math.max(busiest, end - start + 1);
      }
      expect(busiest, `q=${q}: most admitted in one second`).toBeLessThanOrEqual(q);
      // And the guard is no tighter than it needs to be: the sustained rate over 3 s is used.
      expect(admitted.length, `q=${q}`).toBeGreaterThanOrEqual(Math.floor(policy.burst + policy.rate * 2.999));
    }
  });
});
