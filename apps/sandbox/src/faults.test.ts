import { describe, expect, it } from 'vitest';
import { createSandbox } from './app.js';
import { ConnectionDroppedError, FaultConfigError, FaultInjector } from './faults.js';
import { call, expectError, request, sampleCalls, tokenFor } from './testing/helpers.js';

const OPS = new Set(['listWorkspaces', 'getWorkspace', 'getAccessToken']);

describe('FaultInjector', () => {
  it('fires a forced error for the next N calls, then stops', () => {
    const faults = new FaultInjector(OPS);
    faults.set({ listWorkspaces: { error: { status: 500, code: 'systemError', times: 2 } } });
    const fired = [1, 2, 3].map(() => faults.decide('listWorkspaces').error?.code);
    expect(fired).toEqual(['systemError', 'systemError', undefined]);
    expect(faults.get()).toEqual({});
  });

  it('fires for a fraction of calls, using the injected randomness', () => {
    const rolls = [0.1, 0.9, 0.2, 0.6];
    const faults = new FaultInjector(OPS, () => rolls.shift() ?? 0);
    faults.set({ getWorkspace: { dropConnection: { fraction: 0.5 } } });
    expect([1, 2, 3, 4].map(() => faults.decide('getWorkspace').drop)).toEqual([true, false, true, false]);
  });

  it('picks latency in a range, and applies `*` to operations without a rule of their own', () => {
    const faults = new FaultInjector(OPS, () => 0.5);
    faults.set({ '*': { latencyMs: [100, 300] }, getAccessToken: { latencyMs: 5 } });
    expect(faults.decide('listWorkspaces').latencyMs).toBe(200);
    expect(faults.decide('getAccessToken').latencyMs).toBe(5);
    faults.clear('*');
    expect(faults.decide('listWorkspaces')).toEqual({ latencyMs: 0, drop: false });
  });

  it.each([
    [{ nope: { latencyMs: 1 } }, /unknown operationId/],
    [{ listWorkspaces: { error: { status: 200, code: 'x' } } }, /status/],
    [{ listWorkspaces: { error: { status: 500 } } }, /code/],
    [{ listWorkspaces: { error: { status: 500, code: 'x', times: 0 } } }, /times/],
    [{ listWorkspaces: { error: { status: 500, code: 'x', fraction: 2 } } }, /fraction/],
    [{ listWorkspaces: { latencyMs: [5, 1] } }, /latencyMs/],
    [{ listWorkspaces: { latencyMs: 600_000 } }, /latencyMs/],
    [{ listWorkspaces: { dropConnection: 'yes' } }, /dropConnection/],
    [{ listWorkspaces: { typo: 1 } }, /unknown setting/],
  ])('refuses %j', (config, message) => {
    const faults = new FaultInjector(OPS);
    expect(() => faults.set(config)).toThrow(FaultConfigError);
    expect(() => faults.set(config)).toThrow(message);
    expect(faults.get()).toEqual({});
  });
});

describe('faults in the request pipeline', () => {
  it("answers a forced error as DingTalk would, with the spec's example message, before the token check", async () => {
    const sandbox = createSandbox();
    sandbox.faults.set({ listWorkspaces: { error: { status: 500, code: 'systemError', times: 1 } } });
    const { method, path, options } = sampleCalls().listWorkspaces;
    const forced = await call(sandbox, method, path, options);
    expectError(forced, 500, 'systemError');
    expect(forced.body.message).toBe('service busy');
    const token = await tokenFor(sandbox);
    expect((await call(sandbox, method, path, { ...options, token })).status).toBe(200);
  });

  it('uses the given message, and any status and code (undocumented ones too)', async () => {
    const sandbox = createSandbox();
    sandbox.faults.set({ getAccessToken: { error: { status: 503, code: 'ServiceUnavailable', message: 'try later' } } });
    const res = await call(sandbox, 'POST', '/v1.0/oauth2/accessToken', { body: {} });
    expectError(res, 503, 'ServiceUnavailable');
    expect(res.body.message).toBe('try later');
  });

  it('delays the answer by the configured latency', async () => {
    const sandbox = createSandbox({ faults: { listWorkspaces: { latencyMs: 60 } } });
    const started = performance.now();
    await call(sandbox, 'GET', '/v2.0/wiki/workspaces');
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('rejects app.fetch() in-process when dropping the connection, and counts it', async () => {
    const sandbox = createSandbox({ faults: { getAccessToken: { dropConnection: { times: 1 } } } });
    await expect(sandbox.app.fetch(request('POST', '/v1.0/oauth2/accessToken', { body: {} }))).rejects.toBeInstanceOf(ConnectionDroppedError);
    expect((await call(sandbox, 'POST', '/v1.0/oauth2/accessToken', { body: {} })).status).toBe(400);
    expect(sandbox.counters.snapshot().byStatus.getAccessToken).toEqual({ dropped: 1, '400': 1 });
  });
});
