import { describe, expect, it } from 'vitest';
import { createSandbox } from '../app.js';
import { seeded } from '../seed.js';
import { TOKEN_OPERATIONS, call, expectError, manualClock, sampleCalls, tokenFor } from '../testing/helpers.js';

describe('the token check on every API', () => {
  it.each(TOKEN_OPERATIONS)('%s: an unknown token is 400 InvalidAuthentication', async (operationId) => {
    const sandbox = createSandbox();
    const { method, path, options } = sampleCalls()[operationId];
    const res = await call(sandbox, method, path, { ...options, token: '0123456789abcdef0123456789abcdef' });
    expectError(res, 400, 'InvalidAuthentication');
    expect(res.body.message).toBe('不合法的access_token');
  });

  it.each(TOKEN_OPERATIONS)('%s: an expired token is 400 InvalidAuthentication', async (operationId) => {
    const clock = manualClock();
    const sandbox = createSandbox({ now: clock.now });
    const token = await tokenFor(sandbox);
    clock.advance(7200_000);
    const { method, path, options } = sampleCalls()[operationId];
    expectError(await call(sandbox, method, path, { ...options, token }), 400, 'InvalidAuthentication');
  });

  it.each(TOKEN_OPERATIONS)('%s: a missing header is 400 InvalidAuthentication by default', async (operationId) => {
    const { method, path, options } = sampleCalls()[operationId];
    expectError(await call(createSandbox(), method, path, options), 400, 'InvalidAuthentication');
  });

  it('answers a missing header with AuthenticationFailed.MissingParameter when configured so', async () => {
    const sandbox = createSandbox({ missingTokenCode: 'AuthenticationFailed.MissingParameter' });
    const { method, path, options } = sampleCalls().listWorkspaces;
    const res = await call(sandbox, method, path, options);
    expectError(res, 400, 'AuthenticationFailed.MissingParameter');
    expect(res.body.message).toContain('x-acs-dingtalk-access-token');
    // an empty header is as good as none
    expectError(await call(sandbox, method, path, { ...options, token: '' }), 400, 'AuthenticationFailed.MissingParameter');
  });

  it('refuses a revoked token and accepts the next one the app fetches', async () => {
    const sandbox = createSandbox();
    const token = await tokenFor(sandbox);
    expect(sandbox.revokeTokens(seeded.apps.full.appKey)).toBe(1);
    const { method, path, options } = sampleCalls().listWorkspaces;
    expectError(await call(sandbox, method, path, { ...options, token }), 400, 'InvalidAuthentication');
    const fresh = await tokenFor(sandbox);
    expect(fresh).not.toBe(token);
    expect((await call(sandbox, method, path, { ...options, token: fresh })).status).toBe(200);
  });

  it('checks the token before anything else about the request', async () => {
    const res = await call(createSandbox(), 'GET', '/v2.0/wiki/workspaces', { token: 'bad', query: { maxResults: 99 } });
    expectError(res, 400, 'InvalidAuthentication');
  });
});
