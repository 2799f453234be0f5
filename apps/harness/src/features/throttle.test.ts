/**
 * DingTalk's own QPS refusals through the whole request path, in process: `QpsLimitForAppkeyAndApi`
 * (something else shares the app's slots) and `QpsLimitForApi` (the platform throttles the API).
 * DingTalk did not process the request, so the gateway waits out the window and sends it again,
 * POSTs included, a bounded number of times; the waits are recorded, not slept.
 */
import { monthOf } from '@dingtalk-gateway/call-quota';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import { describe, expect, it } from 'vitest';
import { type Harness, createHarness, json, operatorId } from '../in-process.js';

const APP_QPS = 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi';
const PLATFORM_QPS = 'Forbidden.AccessDenied.QpsLimitForApi';
const addPath = `/v2.0/wiki/workspaces?operatorId=${operatorId}`;
const sandboxOrg = seeded.orgs.sandbox.corpId;

/** A gateway whose retry waits are recorded (and take no time); `random` gives the jitter's draws in turn. */
function throttled(options: { random?: number[]; throttleRetries?: number; onWait?: (h: Harness) => void; dingtalk?: Record<string, unknown> } = {}) {
  const waits: number[] = [];
  const draws = [...(options.random ?? [])];
  const h = createHarness({
    config: { orgs: { acme: { corpId: sandboxOrg, monthlyCallQuota: 100 } }, dingtalk: { qpsLimit: 100_000, throttleRetries: options.throttleRetries ?? 2, ...options.dingtalk } },
    deps: {
      retryTiming: {
        sleep: async (ms) => {
          waits.push(ms);
          options.onWait?.(h);
        },
        random: () => draws.shift() ?? 0.5,
      },
    },
  });
  return { h, waits };
}

const attempts = (h: Harness, operationId: string) => h.sandbox.counters.snapshot().byOperation[operationId] ?? 0;
const metered = (h: Harness) => h.sandbox.counters.snapshot().metered[sandboxOrg]?.[monthOf(Date.now())] ?? 0;
const ledgerUsed = async (h: Harness) => (await h.gateway.ledger.orgUsage('acme', monthOf(Date.now()))).used;
const workspacesNamed = (h: Harness, name: string) => [...h.sandbox.state.workspaces.values()].filter((w: { name: string }) => w.name === name).length;

describe("DingTalk's QPS refusals", () => {
  it.each([APP_QPS, PLATFORM_QPS])('%s on a POST: waited out and sent again, created exactly once, counted once', async (code) => {
    const { h, waits } = throttled();
    h.sandbox.faults.set({ addWorkspace: { error: { status: 403, code, times: 1 } } });
    const created = await h.call(addPath, json({ name: `after ${code}` }));
    expect(created.status).toBe(200);
    expect(attempts(h, 'addWorkspace')).toBe(2);
    expect(workspacesNamed(h, `after ${code}`)).toBe(1);
    expect(waits).toHaveLength(1);
    // The refused attempt was not processed: neither DingTalk nor the ledger counts it.
    expect(metered(h)).toBe(1);
    expect(await ledgerUsed(h)).toBe(1);
    expect(await h.gateway.metrics.registry.getSingleMetricAsString('dtg_upstream_retries_total')).toMatch(
      new RegExp(`operation="addWorkspace",reason="${code === APP_QPS ? 'dingtalkQps' : 'dingtalkPlatformQps'}"\\} 1`),
    );
  });

  it("waits DingTalk's one-second window, with jitter: a little for the app's limit, up to a second more for the platform's", async () => {
    const app = throttled({ random: [0, 1] });
    app.h.sandbox.faults.set({ addWorkspace: { error: { status: 403, code: APP_QPS, times: 2 } } });
    expect((await app.h.call(addPath, json({ name: 'app' }))).status).toBe(200);
    expect(app.waits).toEqual([1_000, 1_250]);

    // The callers refused at the top of the hour come back spread over a second, not together.
    const platform = throttled({ random: [0, 0.5, 1] });
    platform.h.sandbox.faults.set({ addWorkspace: { error: { status: 403, code: PLATFORM_QPS, times: 3 } } });
    const answers = await Promise.all(['a', 'b', 'c'].map((name) => platform.h.call(addPath, json({ name }))));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(platform.waits).toEqual([1_000, 1_500, 2_000]);
  });

  it("passes DingTalk's refusal on after the retries, with Retry-After, and counts none of the attempts", async () => {
    const { h, waits } = throttled({ throttleRetries: 2 });
    h.sandbox.faults.set({ addWorkspace: { error: { status: 403, code: PLATFORM_QPS } } });
    const refused = await h.call(addPath, json({ name: 'never' }));
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe(PLATFORM_QPS);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('x-acs-request-id')).toBeTruthy();
    expect(attempts(h, 'addWorkspace')).toBe(3);
    expect(waits).toHaveLength(2);
    expect(metered(h)).toBe(0);
    expect(await ledgerUsed(h)).toBe(0);
    expect(h.logs.filter((line) => line.msg === 'request').at(-1)).toMatchObject({ upstreamAttempts: 3, status: 403 });
  });

  it("refuses as the gateway does over DingTalk's QPS, not with DingTalk's 403, when no slot frees up for sending it again", async () => {
    // One call a second, no waiting: the refused call's own slot is still taken when its retry asks.
    const { h, waits } = throttled({ dingtalk: { qpsLimit: 1, qpsMaxWaitMs: 0 } });
    h.sandbox.faults.set({ addWorkspace: { error: { status: 403, code: APP_QPS, times: 1 } } });
    const refused = await h.call(addPath, json({ name: 'no slot' }));
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { code: string }).code).toBe('gateway.rateLimit.dingtalkQps');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(waits).toHaveLength(1);
    expect(attempts(h, 'addWorkspace')).toBe(1);
    expect(workspacesNamed(h, 'no slot')).toBe(0);
    expect(metered(h)).toBe(0);
    expect(await ledgerUsed(h)).toBe(0);
  });

  it('sends nothing again with throttleRetries 0, and a refusal of the app limit from the sandbox itself is retried too', async () => {
    const none = throttled({ throttleRetries: 0 });
    none.h.sandbox.faults.set({ addWorkspace: { error: { status: 403, code: APP_QPS } } });
    expect((await none.h.call(addPath, json({ name: 'x' }))).status).toBe(403);
    expect(attempts(none.h, 'addWorkspace')).toBe(1);
    expect(none.waits).toEqual([]);

    // The sandbox's own limiter (another client of the app spent the second): the retry gets through once it frees.
    const { h, waits } = throttled({
      onWait: (gateway) => {
        gateway.sandbox.qps.limit = 100_000;
      },
    });
    h.sandbox.qps.limit = 0;
    expect((await h.call(addPath, json({ name: 'shared app' }))).status).toBe(200);
    expect(waits).toHaveLength(1);
    expect(h.sandbox.counters.snapshot().byStatus.addWorkspace).toEqual({ '403': 1, '200': 1 });
    expect(workspacesNamed(h, 'shared app')).toBe(1);
  });
});
