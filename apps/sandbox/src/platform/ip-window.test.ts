import { describe, expect, it } from 'vitest';
import { createSandbox } from '../app.js';
import { call, manualClock, sampleCalls, tokenFor } from '../testing/helpers.js';

function setup(answer: 'json' | 'html' = 'json') {
  const clock = manualClock();
  const sandbox = createSandbox({ now: clock.now, qpsLimit: 100_000, admin: true, ipWindow: { limit: 5, windowMs: 1_000, banMs: 90_000, answer } });
  return { sandbox, clock };
}

describe('the per-IP window and ban', () => {
  it('bans the IP past the window, with the anti-abuse JSON (not DingTalk\'s error shape), for banMs, counting nothing', async () => {
    const { sandbox, clock } = setup();
    const token = await tokenFor(sandbox);
    const { method, path, options } = sampleCalls().listWorkspaces;
    // The token call was the first of the five the window allows.
    for (let i = 0; i < 4; i++) expect((await call(sandbox, method, path, { ...options, token })).status).toBe(200);
    const banned = await call(sandbox, method, path, { ...options, token });
    expect(banned.status).toBe(403);
    expect(banned.body).toEqual({ status: 1111, wait: 2, punish: 'deny', msg: expect.any(String) });
    expect(banned.body.code).toBeUndefined();
    clock.advance(60_000);
    expect((await call(sandbox, 'POST', '/v1.0/oauth2/accessToken', { body: {} })).body.status).toBe(1111); // every API
    clock.advance(30_001);
    expect((await call(sandbox, method, path, { ...options, token })).status).toBe(200);
    const counters = sandbox.counters.snapshot();
    expect(counters.bannedCalls).toBe(2);
    expect(counters.byOperation.listWorkspaces).toBe(5);
    expect(Object.values(Object.values(counters.metered)[0]!)).toEqual([5]);
  });

  it('answers with an HTML page when set so, and shows the bans and settings on the admin API', async () => {
    const { sandbox } = setup('html');
    const token = await tokenFor(sandbox);
    const { method, path, options } = sampleCalls().getWorkspace;
    const send = () => Promise.resolve(sandbox.app.fetch(new Request(`http://sandbox.test${path}?operatorId=${options.query!.operatorId}`, { method, headers: { 'x-acs-dingtalk-access-token': token } })));
    // The token call was the first of the five the window allows.
    for (let i = 0; i < 4; i++) expect((await send()).status).toBe(200);
    const banned = await send();
    expect(banned.status).toBe(403);
    expect(banned.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await banned.text()).toMatch(/<html>/);
    const admin = await call(sandbox, 'GET', '/__sandbox/ip-window');
    expect(admin.body).toMatchObject({ limit: 5, windowMs: 1000, banMs: 90_000, answer: 'html', bannedUntil: { 'in-process': expect.any(Number) } });
    const changed = await call(sandbox, 'PUT', '/__sandbox/ip-window', { body: { limit: 100, answer: 'json' } });
    expect(changed.body).toEqual({ limit: 100, windowMs: 1000, banMs: 90_000, answer: 'json', bannedUntil: {} });
    expect((await call(sandbox, 'PUT', '/__sandbox/ip-window', { body: { answer: 'xml' } })).status).toBe(400);
  });
});
