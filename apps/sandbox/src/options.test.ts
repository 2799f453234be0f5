import { describe, expect, it } from 'vitest';
import { createSandbox } from './app.js';
import { DEFAULTS, OptionsError, optionsFromEnv } from './options.js';

describe('optionsFromEnv', () => {
  it('has the documented defaults', () => {
    expect(optionsFromEnv({})).toEqual({ port: 9100 });
    expect(DEFAULTS).toEqual({ port: 9100, qpsLimit: 20, tokenLifetimeSeconds: 7200, missingTokenCode: 'InvalidAuthentication' });
  });

  it('reads every SANDBOX_* variable', () => {
    expect(
      optionsFromEnv({
        SANDBOX_PORT: '0',
        SANDBOX_ADMIN: '1',
        SANDBOX_QPS_LIMIT: '5',
        SANDBOX_TOKEN_LIFETIME_SECONDS: '3',
        SANDBOX_FAULTS: '{"listWorkspaces":{"latencyMs":10}}',
        SANDBOX_SEED: '/tmp/seed.yaml',
        SANDBOX_MISSING_TOKEN_CODE: 'AuthenticationFailed.MissingParameter',
      }),
    ).toEqual({
      port: 0,
      admin: true,
      qpsLimit: 5,
      tokenLifetimeSeconds: 3,
      faults: { listWorkspaces: { latencyMs: 10 } },
      seed: '/tmp/seed.yaml',
      missingTokenCode: 'AuthenticationFailed.MissingParameter',
    });
    expect(optionsFromEnv({ SANDBOX_ADMIN: '0', SANDBOX_PORT: '' })).toEqual({ port: 9100, admin: false });
  });

  it.each([
    { SANDBOX_PORT: 'abc' },
    { SANDBOX_PORT: '70000' },
    { SANDBOX_ADMIN: 'yes' },
    { SANDBOX_QPS_LIMIT: '0' },
    { SANDBOX_TOKEN_LIFETIME_SECONDS: '1.5' },
    { SANDBOX_FAULTS: '{oops' },
    { SANDBOX_MISSING_TOKEN_CODE: 'Nope' },
  ])('refuses %j with a readable error', (env) => {
    expect(() => optionsFromEnv(env)).toThrow(OptionsError);
  });

  it('applies SANDBOX_FAULTS through the same validation as the admin API', () => {
    expect(() => createSandbox(optionsFromEnv({ SANDBOX_FAULTS: '{"nope":{}}' }))).toThrow(/unknown operationId/);
  });
});
