/**
 * The org's monthly call quota through the whole request path, in process: the gateway's ledger
 * in front of the sandbox's own count of metered calls. Every case runs twice: on the stores in
 * memory, and on the Redis stores, where a metered request's call of the month is reserved in
 * the same script run as its limits (`quota/limits-with-call.ts`).
 */
import { monthOf, nextMonthStart } from '@dingtalk-gateway/call-quota';
import { type GatewayDeps, type PrometheusMetrics, type RedisStores, createPrometheusMetrics, createRedisStores } from '@dingtalk-gateway/gateway';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { checkRedis, redisForTests } from '@dingtalk-gateway/test-support';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, type HarnessOptions, createHarness, json, operatorId } from '../in-process.js';

const listPath = `/v2.0/wiki/workspaces?operatorId=${operatorId}`;
const sandboxOrg = seeded.orgs.sandbox.corpId;
/** Org `acme` (the sandbox org): 20 calls a month; `full` may use 5 of them, the other tenants share the pool of 15. */
const QUOTA = { orgs: { acme: { corpId: sandboxOrg, monthlyCallQuota: 20 } }, tenants: { full: { monthlyAllocation: 5 } } };
const REDIS_PREFIX = `dtg:test:quota-feature:${process.pid}:`;
const redisUnreachable = await checkRedis();
const redis = redisForTests(REDIS_PREFIX);

/** Fresh Redis stores (a key prefix of their own), connected: what `wireGateway` gives a gateway with `redis:`. */
async function redisStores(name: string): Promise<RedisStores> {
  const config = { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', keyPrefix: `${REDIS_PREFIX}${name}:`, timeoutMs: 2_000, tokenTimeoutMs: 2_000, whenDown: 'local' as const };
  const stores = createRedisStores(config, {}, pino({ level: 'silent' }), createPrometheusMetrics());
  if (!(await stores.connected(5_000))) throw new Error('Redis stores did not connect');
  return stores;
}

/** The stores' deps as `wireGateway` passes them (the token providers stay the harness's, in memory, on its clock). */
const storeDeps = (stores: RedisStores): Partial<GatewayDeps<PrometheusMetrics>> => ({
  requestLimiter: stores.requestLimiter,
  ledger: stores.ledger,
  limitsWithCall: stores.limitsWithCall,
});

const STORES = [{ stores: 'in memory', redis: false }, ...(redisUnreachable ? [] : [{ stores: 'on Redis', redis: true }])];

const metered = (h: Harness) => h.sandbox.counters.snapshot().metered[sandboxOrg]?.[monthOf(Date.now())] ?? 0;
const ledgerUsed = async (h: Harness, month = monthOf(Date.now())) => (await h.gateway.ledger.orgUsage('acme', month)).used;

describe.each(STORES)('the monthly call quota, stores $stores', ({ redis: onRedis }) => {
  let stores: RedisStores | undefined;
  let test = 0;
  beforeEach(async () => {
    if (onRedis) stores = await redisStores(`case${++test}`);
  });
  afterEach(async () => {
    await stores?.close();
    stores = undefined;
  });

  function harness(options: HarnessOptions = {}): Harness {
    // Waits before a retry take no time (DingTalk's QPS window is a second).
    return createHarness({
      ...options,
      deps: { retryTiming: { sleep: async () => {} }, ...(stores ? storeDeps(stores) : {}), ...options.deps },
      config: { ...QUOTA, ...options.config, tenants: { ...QUOTA.tenants, ...(options.config?.tenants as object) } },
    });
  }

  it("grants a tenant its allocation, then answers 429 gateway.quota.tenant until the next month, saying how much of how much", async () => {
    const h = harness();
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await h.call(listPath));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(answers[0]!.headers.get('ratelimit-policy')).toMatch(/^"tenant";q=1000;w=1, "month";q=5;w=\d+$/);
    expect(answers.slice(0, 5).map((a) => /"month";r=(\d+)/.exec(a.headers.get('ratelimit')!)?.[1])).toEqual(['4', '3', '2', '1', '0']);
    const refused = answers[5]!;
    const body = (await refused.json()) as { code: string; message: string };
    expect(body.code).toBe('gateway.quota.tenant');
    expect(body.message).toMatch(/^tenant full has used 5 of its 5 calls for \d{4}-\d{2} \(China Standard Time\); the next month starts at \d{4}-\d{2}-01T00:00\+08:00$/);
    const untilNextMonth = Math.ceil((nextMonthStart(Date.now()) - Date.now()) / 1000);
    expect(Math.abs(Number(refused.headers.get('retry-after')) - untilNextMonth)).toBeLessThanOrEqual(2);
    expect(refused.headers.get('ratelimit')).toMatch(/, "month";r=0;t=\d+$/);
    expect(metered(h)).toBe(5);
    expect(await h.gateway.metrics.registry.getSingleMetricAsString('dtg_quota_refused_total')).toMatch(/dtg_quota_refused_total\{tenant="full",limit="tenant"\} 1/);
  });

  it('lets the tenants without an allocation share the pool, first come, whatever the allocated ones do', async () => {
    const h = harness();
    const other = [];
    for (let i = 0; i < 16; i++) other.push((await h.call(listPath, { key: h.keys.other })).status);
    expect(other.filter((s) => s === 200)).toHaveLength(15);
    const reader = await h.call(listPath, { key: h.keys.reader });
    expect(reader.status).toBe(429);
    expect(((await reader.json()) as { message: string }).message).toMatch(/^the tenants without an allocation in org acme have used 15 of their pool's 15 calls/);
    // full's allocation is its own.
    expect((await h.call(listPath)).status).toBe(200);
  });

  it("answers DingTalk's ApiCountLimitForOrg itself once DingTalk said the org's month is spent, until the quota is raised", async () => {
    // Something outside the gateway spends the same org's month: DingTalk's count runs out first.
    const h = harness({ sandbox: { monthlyCallQuota: 3 }, config: { tenants: { full: { monthlyAllocation: undefined } } } });
    for (let i = 0; i < 3; i++) expect((await h.call(listPath)).status).toBe(200);
    const fromDingTalk = await h.call(listPath);
    expect(fromDingTalk.status).toBe(403);
    expect(fromDingTalk.headers.get('x-acs-request-id')).toBeTruthy();
    const before = h.sandbox.counters.snapshot().byOperation.listWorkspaces;
    const fromGateway = await h.call(listPath);
    expect(fromGateway.status).toBe(403);
    expect(fromGateway.headers.get('x-acs-request-id')).toBeNull();
    const body = (await fromGateway.json()) as { code: string; message: string };
    expect(body.code).toBe('Forbidden.AccessDenied.ApiCountLimitForOrg');
    expect(body.message).toMatch(/^调用量:4次,额度:20次: org acme has spent its monthly call quota/);
    expect(Number(fromGateway.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(h.sandbox.counters.snapshot().byOperation.listWorkspaces, 'DingTalk was not called').toBe(before);
    expect(await ledgerUsed(h)).toBe(3);
    expect((await h.gateway.ledger.orgUsage('acme', monthOf(Date.now()))).spentAtQuota).toBe(20);

    // The edition is upgraded: the operator raises the quota (a new config on the same ledger).
    h.sandbox.quota.setQuota(100);
    const upgraded = createHarness({ config: { orgs: { acme: { corpId: sandboxOrg, monthlyCallQuota: 100 } } }, deps: { ledger: h.gateway.ledger } });
    expect((await upgraded.call(listPath)).status).toBe(200);
  });

  it("counts exactly what DingTalk counts: not what the gateway refused, not DingTalk's refusals, every attempt DingTalk processed", async () => {
    const h = harness({ config: { tenants: { full: { monthlyAllocation: 15 } } } });
    // Refused by the gateway before DingTalk: bad input, a scope it lacks.
    expect((await h.call(`/v2.0/wiki/workspaces?operatorId=${operatorId}&orderBy=BAD`)).status).toBe(400);
    expect((await h.call('/v1.0/drive/spaces', { ...json({ name: 'x', unionId: operatorId }), key: h.keys.reader })).status).toBe(403);
    // DingTalk's API refuses: counts.
    expect((await h.call('/v2.0/wiki/workspaces/nope?operatorId=' + operatorId)).status).toBe(404);
    // The token was revoked: DingTalk refuses it unread, the gateway retries with a new one; one call counts.
    h.sandbox.revokeTokens(seeded.apps.full.appKey);
    expect((await h.call(listPath)).status).toBe(200);
    // A GET failing with a 5xx is sent again: two calls DingTalk processed.
    h.sandbox.faults.set({ getWorkspace: { error: { status: 500, code: 'systemError', times: 1 } } });
    expect((await h.call(`/v2.0/wiki/workspaces/${seeded.workspaces.handbook.workspaceId}?operatorId=${operatorId}`)).status).toBe(200);
    // The platform refuses for QPS: not counted (the gateway sends it again after the window: that one counts).
    h.sandbox.faults.set({ addSpace: { error: { status: 403, code: 'Forbidden.AccessDenied.QpsLimitForApi', times: 1 } } });
    expect((await h.call('/v1.0/drive/spaces', json({ name: 'Space', unionId: operatorId }))).status).toBe(200);
    expect(h.sandbox.counters.snapshot().byStatus.addSpace).toEqual({ '403': 1, '200': 1 });
    expect(metered(h)).toBe(5);
    expect(await ledgerUsed(h)).toBe(5);
    expect((await h.gateway.ledger.orgUsage('acme', monthOf(Date.now()))).tenants.full).toEqual({ used: 5, operations: { getWorkspace: 3, listWorkspaces: 1, addSpace: 1 } });
  });

  it('starts again with the month in China Standard Time', async () => {
    const h = harness();
    for (let i = 0; i < 5; i++) await h.call(listPath);
    expect((await h.call(listPath)).status).toBe(429);
    const now = Date.now();
    h.advance(nextMonthStart(now) - now + 1_000);
    const next = await h.call(listPath);
    expect(next.status).toBe(200);
    expect(next.headers.get('ratelimit')).toMatch(/, "month";r=4;t=\d+$/);
    expect(await ledgerUsed(h, monthOf(nextMonthStart(now)))).toBe(1);
  });

  it('warns once in the log as a tenant, the pool and the org pass 80 % and 95 %', async () => {
    const h = harness({ config: { orgs: { acme: { corpId: sandboxOrg, monthlyCallQuota: 40 } }, tenants: { full: { monthlyAllocation: 20 } } } });
    for (let i = 0; i < 20; i++) await h.call(listPath);
    for (let i = 0; i < 20; i++) await h.call(listPath, { key: h.keys.other });
    const warnings = h.logs.filter((line) => line.level === 40).map((line) => line.msg);
    expect(warnings).toEqual([
      'tenant full has used 80% of its monthly allocation',
      'tenant full has used 95% of its monthly allocation',
      'org acme has used 80% of its monthly call quota',
      'the pool of org acme is 80% used',
      'org acme has used 95% of its monthly call quota',
      'the pool of org acme is 95% used',
    ]);
  });

  it('tells a tenant its usage at GET /gateway/usage, with its own key, costing nothing of the month', async () => {
    const h = harness();
    for (let i = 0; i < 3; i++) await h.call(listPath);
    await h.call(`/v2.0/wiki/workspaces/${seeded.workspaces.handbook.workspaceId}?operatorId=${operatorId}`);
    for (let i = 0; i < 2; i++) await h.call(listPath, { key: h.keys.other });
    const month = monthOf(Date.now());
    const full = await h.call('/gateway/usage');
    expect(full.status).toBe(200);
    const body = await full.json();
    expect(body).toEqual({
      month,
      resetsAt: `${monthOf(nextMonthStart(Date.now()))}-01T00:00+08:00`,
      tenant: { id: 'full', used: 4, limit: 5, limitKind: 'allocation', remaining: 1, operations: { listWorkspaces: 3, getWorkspace: 1 } },
      org: { id: 'acme', used: 6, quota: 20, remaining: 14, spent: false },
    });
    expect(h.gateway.validator.validateResponse('getGatewayUsage', 200, body)).toEqual({ ok: true });
    const other = (await (await h.call('/gateway/usage', { key: h.keys.other })).json()) as { tenant: unknown };
    expect(other.tenant).toEqual({ id: 'other', used: 2, limit: 15, limitKind: 'pool', remaining: 13, operations: { listWorkspaces: 2 } });
    expect(await ledgerUsed(h)).toBe(6);
    // Another month, a bad one, no key.
    expect(((await (await h.call('/gateway/usage?month=2026-01')).json()) as { tenant: { used: number } }).tenant.used).toBe(0);
    const bad = await h.call('/gateway/usage?month=2026-13');
    expect(bad.status).toBe(400);
    expect((await bad.json()) as unknown).toMatchObject({ code: 'gateway.request.invalid', message: expect.stringMatching(/month/) });
    expect((await h.call('/gateway/usage', { key: null })).status).toBe(401);
    expect((await h.call('/gateway/usage', { method: 'POST' })).status).toBe(404);
  });

  it("shows each org's, tenant's and pool's calls and what is left as Prometheus gauges", async () => {
    const h = harness();
    for (let i = 0; i < 3; i++) await h.call(listPath);
    await h.call(listPath, { key: h.keys.other });
    const text = await (await h.gateway.metricsApp.request('/metrics')).text();
    const gauge = (name: string) => text.split('\n').filter((line) => line.startsWith(`${name}{`)).sort();
    expect(gauge('dtg_quota_used_calls')).toEqual([
      'dtg_quota_used_calls{org="acme",tenant=""} 4',
      'dtg_quota_used_calls{org="acme",tenant="(pool)"} 1',
      'dtg_quota_used_calls{org="acme",tenant="full"} 3',
      'dtg_quota_used_calls{org="acme",tenant="isv"} 0',
      'dtg_quota_used_calls{org="acme",tenant="other"} 1',
      'dtg_quota_used_calls{org="acme",tenant="reader"} 0',
    ]);
    expect(gauge('dtg_quota_remaining_calls')).toEqual([
      'dtg_quota_remaining_calls{org="acme",tenant=""} 16',
      'dtg_quota_remaining_calls{org="acme",tenant="(pool)"} 14',
      'dtg_quota_remaining_calls{org="acme",tenant="full"} 2',
      'dtg_quota_remaining_calls{org="acme",tenant="isv"} 14',
      'dtg_quota_remaining_calls{org="acme",tenant="other"} 14',
      'dtg_quota_remaining_calls{org="acme",tenant="reader"} 14',
    ]);
  });

  it('leaves the operations the spec does not meter alone (none of the contract): no month policy on the gateway\'s own answers', async () => {
    const h = harness();
    const health = await h.gateway.app.request('/healthz');
    expect(health.headers.get('ratelimit-policy')).toBeNull();
  });
});

describe.skipIf(redisUnreachable)("on Redis, a metered request's limits and its call of the month", () => {
  /** The script runs (EVALSHA or EVAL) on the stores' keys while `send` runs, as Redis's MONITOR sees them. */
  async function scriptRuns(prefix: string, send: () => Promise<unknown>): Promise<number> {
    const monitor = await redis.client().monitor();
    let runs = 0;
    monitor.on('monitor', (_time: string, args: string[]) => {
      if ((args[0] === 'evalsha' || args[0] === 'eval') && args.some((arg) => arg.startsWith(prefix))) runs++;
    });
    await send();
    // MONITOR's feed trails the replies: a PING through the same server marks its end.
    await redis.admin.ping();
    await new Promise((resolve) => setTimeout(resolve, 50));
    monitor.disconnect();
    return runs;
  }

  it('take one script run when the stores combine them, where the two stores on their own take two; both count the call', async () => {
    const combined = await redisStores('one-run');
    const apart = await redisStores('two-runs');
    try {
      const one = createHarness({ config: QUOTA, deps: storeDeps(combined) });
      const two = createHarness({ config: QUOTA, deps: { ...storeDeps(apart), limitsWithCall: undefined } });
      await one.call(listPath); // scripts loaded, token fetched
      await two.call(listPath);
      expect(await scriptRuns(`${REDIS_PREFIX}one-run:`, () => one.call(listPath))).toBe(1);
      expect(await scriptRuns(`${REDIS_PREFIX}two-runs:`, () => two.call(listPath))).toBe(2);
      expect(await ledgerUsed(one)).toBe(2);
      expect(await ledgerUsed(two)).toBe(2);
      // An Idempotency-Key's record may answer the request before its call: reserved apart, by the quota step.
      const create = () => one.call('/v1.0/drive/spaces', { ...json({ name: 'Space', unionId: operatorId }), headers: { 'content-type': 'application/json', 'idempotency-key': 'k-1' } });
      expect(await scriptRuns(`${REDIS_PREFIX}one-run:`, async () => expect((await create()).status).toBe(200))).toBe(2);
      expect((await create()).headers.get('idempotent-replayed')).toBe('true');
      expect(await ledgerUsed(one)).toBe(3);
    } finally {
      await combined.close();
      await apart.close();
    }
  });
});
