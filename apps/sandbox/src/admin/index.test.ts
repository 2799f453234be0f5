import { monthOf } from '@dingtalk-gateway/call-quota';
import { describe, expect, it } from 'vitest';
import { createSandbox } from '../app.js';
import { seeded } from '../seed.js';
import { call, expectError, manualClock, sampleCalls, tokenFor } from '../testing/helpers.js';

const { full } = seeded.apps;

describe('the admin API', () => {
  it('is off unless enabled: its paths answer 404 like any unknown path', async () => {
    const sandbox = createSandbox();
    const res = await call(sandbox, 'POST', '/__sandbox/reset');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('InvalidAction.NotFound');
  });

  it('lists its endpoints', async () => {
    const sandbox = createSandbox({ admin: true });
    expect((await call(sandbox, 'GET', '/__sandbox')).body).toEqual((await call(sandbox, 'GET', '/__sandbox/')).body);
    const res = await call(sandbox, 'GET', '/__sandbox/');
    expect(res.body.endpoints).toEqual(expect.arrayContaining([expect.stringContaining('/__sandbox/reset')]));
  });

  it('counts calls per operation, per app and per status, and the tokens issued', async () => {
    const sandbox = createSandbox({ admin: true });
    const token = await tokenFor(sandbox);
    await tokenFor(sandbox); // the same token again: a call, not a new token
    const { method, path, options } = sampleCalls().listWorkspaces;
    await call(sandbox, method, path, { ...options, token });
    await call(sandbox, method, path, { ...options, token: 'bad' });
    await call(sandbox, 'GET', '/__sandbox/state'); // the admin API is not counted
    const res = await call(sandbox, 'GET', '/__sandbox/counters');
    expect(res.body).toEqual({
      total: 4,
      byOperation: { getAccessToken: 2, listWorkspaces: 2 },
      byApp: { [full.appKey]: { getAccessToken: 2, listWorkspaces: 1 } },
      byStatus: { getAccessToken: { '200': 2 }, listWorkspaces: { '200': 1, '400': 1 } },
      tokensIssued: { [full.appKey]: 1 },
      // The listWorkspaces with a good token counted towards the org's month; the other was refused unread.
      metered: { [seeded.orgs.sandbox.corpId]: { [monthOf(Date.now())]: 1 } },
      bannedCalls: 0,
    });
    expect((await call(sandbox, 'DELETE', '/__sandbox/counters')).body.total).toBe(0);
  });

  it('sets, shows and clears faults', async () => {
    const sandbox = createSandbox({ admin: true });
    const rule = { listWorkspaces: { error: { status: 400, code: 'InvalidAuthentication', times: 1 } }, getWorkspace: { latencyMs: [1, 2] } };
    expect((await call(sandbox, 'PUT', '/__sandbox/faults', { body: rule })).body).toEqual(rule);
    const token = await tokenFor(sandbox);
    const { method, path, options } = sampleCalls().listWorkspaces;
    expectError(await call(sandbox, method, path, { ...options, token }), 400, 'InvalidAuthentication');
    expect((await call(sandbox, method, path, { ...options, token })).status).toBe(200);
    expect((await call(sandbox, 'GET', '/__sandbox/faults')).body).toEqual({ getWorkspace: { latencyMs: [1, 2] } });
    expect((await call(sandbox, 'DELETE', '/__sandbox/faults/getWorkspace')).body).toEqual({});
    await call(sandbox, 'PUT', '/__sandbox/faults', { body: { '*': { latencyMs: 1 } } });
    expect((await call(sandbox, 'DELETE', '/__sandbox/faults')).body).toEqual({});
  });

  it('refuses a bad fault config with 400 sandbox.badRequest and changes nothing', async () => {
    const sandbox = createSandbox({ admin: true });
    const res = await call(sandbox, 'PUT', '/__sandbox/faults', { body: { listWorkspaces: { latencyMs: 1 }, nope: { latencyMs: 1 } } });
    expectError(res, 400, 'sandbox.badRequest');
    expect(res.body.message).toContain('nope');
    expect(sandbox.faults.get()).toEqual({});
    expectError(await call(sandbox, 'PUT', '/__sandbox/faults', { rawBody: '{' }), 400, 'sandbox.badRequest');
  });

  it("revokes all tokens of an app, so its next call gets InvalidAuthentication", async () => {
    const sandbox = createSandbox({ admin: true });
    const token = await tokenFor(sandbox);
    const res = await call(sandbox, 'POST', `/__sandbox/apps/${full.appKey}/revoke-tokens`);
    expect(res.body).toEqual({ appKey: full.appKey, revoked: 1 });
    const { method, path, options } = sampleCalls().listWorkspaces;
    expectError(await call(sandbox, method, path, { ...options, token }), 400, 'InvalidAuthentication');
    expect((await call(sandbox, 'POST', '/__sandbox/apps/dingnobody/revoke-tokens')).status).toBe(404);
  });

  it('overrides the token lifetime, e.g. 3 s to exercise refresh', async () => {
    const clock = manualClock();
    const sandbox = createSandbox({ admin: true, now: clock.now });
    expect((await call(sandbox, 'PUT', '/__sandbox/token-lifetime', { body: { seconds: 3 } })).body).toEqual({ seconds: 3 });
    const issued = await call(sandbox, 'POST', '/v1.0/oauth2/accessToken', { body: { appKey: full.appKey, appSecret: full.appSecret } });
    expect(issued.body.expireIn).toBe(3);
    clock.advance(3000);
    const { method, path, options } = sampleCalls().listWorkspaces;
    expectError(await call(sandbox, method, path, { ...options, token: issued.body.accessToken }), 400, 'InvalidAuthentication');
    expectError(await call(sandbox, 'PUT', '/__sandbox/token-lifetime', { body: { seconds: 0 } }), 400, 'sandbox.badRequest');
    expect((await call(sandbox, 'GET', '/__sandbox/token-lifetime')).body).toEqual({ seconds: 3 });
  });

  it('changes the QPS limit', async () => {
    const sandbox = createSandbox({ admin: true, now: manualClock().now });
    await call(sandbox, 'PUT', '/__sandbox/qps-limit', { body: { limit: 1 } });
    const token = await tokenFor(sandbox);
    const { method, path, options } = sampleCalls().listWorkspaces;
    expect((await call(sandbox, method, path, { ...options, token })).status).toBe(200);
    expectError(await call(sandbox, method, path, { ...options, token }), 403, 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi');
  });

  it('resets state, tokens, counters, faults and settings to the start', async () => {
    const sandbox = createSandbox({ admin: true, faults: { getWorkspace: { latencyMs: 1 } } });
    const token = await tokenFor(sandbox);
    const { method, path, options } = sampleCalls().addWorkspace;
    const created = await call(sandbox, method, path, { ...options, token });
    await call(sandbox, 'PUT', '/__sandbox/faults', { body: { listWorkspaces: { latencyMs: 1 } } });
    await call(sandbox, 'PUT', '/__sandbox/token-lifetime', { body: { seconds: 5 } });
    expect((await call(sandbox, 'POST', '/__sandbox/reset')).body).toEqual({ reset: true });
    expect(sandbox.state.workspaces.has(created.body.workspace.workspaceId)).toBe(false);
    expect(sandbox.state.workspaces.has(seeded.workspaces.handbook.workspaceId)).toBe(true);
    expect(sandbox.counters.snapshot().total).toBe(0);
    expect(sandbox.faults.get()).toEqual({ getWorkspace: { latencyMs: 1 } });
    expect(sandbox.settings.tokenLifetimeSeconds).toBe(7200);
    expectError(await call(sandbox, 'GET', '/v2.0/wiki/workspaces', { ...sampleCalls().listWorkspaces.options, token }), 400, 'InvalidAuthentication');
  });

  it('shows the state', async () => {
    const sandbox = createSandbox({ admin: true });
    await tokenFor(sandbox);
    const res = await call(sandbox, 'GET', '/__sandbox/state');
    expect(res.body.activeTokens).toEqual({ [full.appKey]: 1 });
    expect(res.body.workspaces).toEqual(expect.arrayContaining([expect.objectContaining({ workspaceId: seeded.workspaces.handbook.workspaceId, nodes: 4 })]));
  });
});
