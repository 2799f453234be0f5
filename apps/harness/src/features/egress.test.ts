/**
 * DingTalk's limit per egress IP through the whole request path, in process: the sandbox's
 * per-IP window and ban (with its real non-JSON answers) behind the gateway, on one clock.
 */
import { describe, expect, it } from 'vitest';
import { type Harness, type HarnessOptions, createHarness, operatorId } from '../in-process.js';

const listPath = `/v2.0/wiki/workspaces?operatorId=${operatorId}`;
const body = async (response: Response) => (await response.json()) as { code: string; message: string; requestid: string };
const reached = (h: Harness) => h.sandbox.counters.snapshot().byOperation.listWorkspaces ?? 0;
const bannedCalls = (h: Harness) => h.sandbox.counters.snapshot().bannedCalls;
const logged = (h: Harness, text: string) => h.logs.filter((line) => String(line.msg).includes(text));

/** A sandbox that bans the IP after `limit` calls in 20 s (its token fetch is one); the gateway's own guard off unless given. */
function banning(answer: 'json' | 'html', options: { limit?: number; banMs?: number; config?: HarnessOptions['config'] } = {}) {
  return createHarness({
    sandbox: { ipWindow: { limit: options.limit ?? 4, windowMs: 20_000, banMs: options.banMs ?? 300_000, answer } },
    config: { dingtalk: { ipWindow: false, ipBanMs: 120_000 }, ...options.config },
  });
}

describe("DingTalk's ban of the egress IP", () => {
  it('stops calling DingTalk for the ban the answer states, answering 503 gateway.upstream.banned with Retry-After, never a 5xx of its own', async () => {
    const h = banning('json');
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await h.call(listPath)).status);
    expect(statuses).toEqual([200, 200, 200]); // the token fetch was the 1st call of 4
    const banned = await h.call(listPath);
    expect(banned.status).toBe(503);
    expect(banned.headers.get('retry-after')).toBe('300'); // the front's "wait": 5 (minutes)
    const error = await body(banned);
    expect(error.code).toBe('gateway.upstream.banned');
    expect(error.requestid).toBe(banned.headers.get('x-request-id'));
    expect(h.gateway.validator.validateResponse('listWorkspaces', 503, error)).toEqual({ ok: true });

    // Meanwhile nothing reaches DingTalk, and callers are told how long is left.
    h.advance(60_000);
    const later = await Promise.all(Array.from({ length: 5 }, () => h.call(listPath)));
    expect(later.map((r) => r.status)).toEqual(Array(5).fill(503));
    expect(later.map((r) => r.headers.get('retry-after'))).toEqual(Array(5).fill('240'));
    expect(bannedCalls(h)).toBe(1);
    expect(reached(h)).toBe(3);

    // Seen by operators: /readyz, metrics, one log line.
    const ready = await h.gateway.app.request('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.headers.get('retry-after')).toBe('240');
    expect((await body(ready)).code).toBe('gateway.upstream.banned');
    const operators = await h.gateway.metricsApp.request('/readyz');
    expect(await operators.json()).toMatchObject({ status: 'not ready', egress: expect.stringMatching(/^banned by DingTalk until \d{4}-/) });
    const metrics = await h.gateway.metrics.registry.metrics();
    expect(metrics).toMatch(/^dtg_dingtalk_banned 1$/m);
    expect(metrics).toMatch(/^dtg_dingtalk_bans_total 1$/m);
    expect(logged(h, 'bans this instance')).toHaveLength(1);
    expect(logged(h, 'bans this instance')[0]).toMatchObject({ level: 40, answer: 'json', status: 403, lengthFrom: 'the answer' });

    // When the ban should be over, one call goes (the probe); DingTalk answers, and all is open again.
    h.advance(240_000);
    const probe = await h.call(listPath);
    expect(probe.status).toBe(200);
    expect(logged(h, 'ban of the egress IP is over')).toHaveLength(1);
    expect((await h.call(listPath)).status).toBe(200);
    expect((await h.gateway.app.request('/readyz')).status).toBe(200);
    expect(await h.gateway.metrics.registry.metrics()).toMatch(/^dtg_dingtalk_banned 0$/m);
  });

  it("takes the HTML page for a ban of dingtalk.ipBanMs, and bans again when the probe meets the ban", async () => {
    const h = banning('html', { banMs: 600_000 }); // DingTalk's ban outlasts the gateway's guess
    for (let i = 0; i < 3; i++) expect((await h.call(listPath)).status).toBe(200);
    const banned = await h.call(listPath);
    expect(banned.status).toBe(503);
    expect(banned.headers.get('retry-after')).toBe('120');
    expect(logged(h, 'bans this instance')[0]).toMatchObject({ answer: 'html', lengthFrom: 'dingtalk.ipBanMs' });

    h.advance(120_000);
    const probe = await h.call(listPath);
    expect(probe.status).toBe(503);
    expect((await body(probe)).code).toBe('gateway.upstream.banned');
    expect(bannedCalls(h)).toBe(2); // the first answer and the probe; nothing else went
    expect(logged(h, 'bans this instance')).toHaveLength(2);
    expect((await h.call(listPath)).headers.get('retry-after')).toBe('120');

    h.advance(480_000); // DingTalk's ban is over too
    expect((await h.call(listPath)).status).toBe(200);
  });
});

describe("the guard under DingTalk's per-IP window", () => {
  it('refuses past the window with 429 gateway.rateLimit.dingtalkIp, so DingTalk never bans (a token fetch is not held back: room is left for it)', async () => {
    const h = banning('json', { limit: 6, config: { dingtalk: { ipWindow: { limit: 5, windowMs: 20_000 } } } });
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push(await h.call(listPath));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429, 429, 429]); // 5 calls (+ 1 token fetch: DingTalk's 6)
    const refused = answers[5]!;
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(19);
    const error = await body(refused);
    expect(error.code).toBe('gateway.rateLimit.dingtalkIp');
    expect(error.message).toMatch(/^the egress IP is at DingTalk's limit of 5 calls in 20 s/);
    expect(h.gateway.validator.validateResponse('listWorkspaces', 429, error)).toEqual({ ok: true });
    expect(bannedCalls(h)).toBe(0);
    expect(reached(h)).toBe(5);
    expect(await h.gateway.metrics.registry.getSingleMetricAsString('dtg_rate_limited_total')).toMatch(/limit="dingtalkIp"\} 3/);
  });
});
