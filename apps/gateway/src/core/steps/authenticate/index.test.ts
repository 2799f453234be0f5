import { Hono } from 'hono';
import { describe, expect, it, vi } from 'vitest';
import { configSchema } from '../../../config/schema.js';
import type { GatewayEnv } from '../../context.js';
import { beforeSteps } from '../before-steps.testing.js';
import { createApiKeyIndex } from '../../keys/api-key-index.js';
import { sha256Hex } from '../../../adapters/node/api-key.js';
import { buildTenants } from '../../tenants.js';
import { authenticate } from './index.js';

const KEY = 'dtg_' + 'k'.repeat(43);

function setup() {
  const config = configSchema.parse({
    apps: { app: { type: 'internal', appKey: 'ding', appSecretEnv: 'SECRET' } },
    tenants: {
      team: { name: 'Team', app: 'app', apiKeys: [{ sha256: sha256Hex(KEY) }], scopes: ['Wiki.Workspace.Read'], rateLimit: { rate: 1, burst: 1 } },
    },
  });
  const tenants = buildTenants(config);
  const hash = vi.fn(sha256Hex);
  const downstream = vi.fn();
  const app = new Hono<GatewayEnv>();
  app.use('*', beforeSteps());
  app.use('*', authenticate({ keys: createApiKeyIndex(config, tenants, hash) }));
  app.get('/', (c) => {
    downstream();
    return c.json({ tenant: c.get('tenant').id, same: c.get('tenant') === tenants.get('team') });
  });
  const call = (authorization?: string) => Promise.resolve(app.request('/', authorization === undefined ? {} : { headers: { authorization } }));
  return { call, hash, downstream };
}

async function expectRefusal(response: Response, code: string, wwwAuthenticate: string) {
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toBe(wwwAuthenticate);
  expect(response.headers.get('x-error-code')).toBe(code);
  const body = (await response.json()) as Record<string, unknown>;
  expect(body).toEqual({ code, message: expect.any(String), requestid: 'r-1' });
  return body;
}

const MISSING = 'Bearer realm="dingtalk-gateway"';
const INVALID = 'Bearer realm="dingtalk-gateway", error="invalid_token"';

describe('authenticate', () => {
  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['"Bearer" alone', 'Bearer'],
    ['"Bearer " with only spaces', 'Bearer    '],
    ['another scheme', `Basic ${KEY}`],
    ['the key without a scheme', KEY],
    ['two tokens', `Bearer ${KEY} extra`],
    ['no space after Bearer', `Bearer${KEY}`],
    ['a prefix before Bearer', `X Bearer ${KEY}`],
  ])('answers 401 gateway.auth.missingKey for %s, without hashing', async (_what, authorization) => {
    const { call, hash, downstream } = setup();
    const body = await expectRefusal(await call(authorization), 'gateway.auth.missingKey', MISSING);
    expect(body.message).toMatch(/Authorization: Bearer/);
    expect(hash).not.toHaveBeenCalled();
    expect(downstream).not.toHaveBeenCalled();
  });

  it.each([
    ['canonical', `Bearer ${KEY}`],
    ['lowercase scheme', `bearer ${KEY}`],
    ['uppercase scheme', `BEARER ${KEY}`],
    ['a tab after the scheme', `Bearer\t${KEY}`],
    ['several spaces and tabs', `Bearer \t  ${KEY}`],
    ['trailing whitespace', `Bearer ${KEY} \t `],
  ])('accepts a valid key sent with %s and sets the tenant', async (_what, authorization) => {
    const { call, hash, downstream } = setup();
    const response = await call(authorization);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ tenant: 'team', same: true });
    expect(hash).toHaveBeenCalledTimes(1);
    expect(hash).toHaveBeenCalledWith(KEY);
    expect(downstream).toHaveBeenCalledTimes(1);
    expect(response.headers.get('www-authenticate')).toBeNull();
  });

  it('answers an unknown key 401 gateway.auth.invalidKey after one hash', async () => {
    const { call, hash, downstream } = setup();
    const body = await expectRefusal(await call(`Bearer ${KEY}x`), 'gateway.auth.invalidKey', INVALID);
    expect(body.message).not.toContain(KEY);
    expect(hash).toHaveBeenCalledTimes(1);
    expect(downstream).not.toHaveBeenCalled();
  });

  it('does not hash a key longer than 256 characters, and answers it like any unknown key', async () => {
    const { call, hash } = setup();
    const long = await expectRefusal(await call(`Bearer ${'a'.repeat(257)}`), 'gateway.auth.invalidKey', INVALID);
    expect(hash).not.toHaveBeenCalled();
    const unknown = await expectRefusal(await call(`Bearer ${'a'.repeat(256)}`), 'gateway.auth.invalidKey', INVALID);
    expect(hash).toHaveBeenCalledTimes(1);
    expect(long).toEqual(unknown);
  });

  it('is case-sensitive about the key itself', async () => {
    const { call } = setup();
    await expectRefusal(await call(`Bearer ${KEY.toUpperCase()}`), 'gateway.auth.invalidKey', INVALID);
  });
});
