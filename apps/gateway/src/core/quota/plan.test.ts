import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { DEFAULT_ORG, allocationOf, orgOfApp, quotaPlan } from './plan.js';

const tenant = (app: string, monthlyAllocation?: number | string) => ({
  name: 't',
  app,
  apiKeys: [{ sha256: 'a'.repeat(64) }],
  scopes: ['Wiki.Workspace.Read'],
  rateLimit: { rate: 1, burst: 1 },
  ...(monthlyAllocation === undefined ? {} : { monthlyAllocation }),
});
const app = (org?: string) => ({ type: 'internal', appKey: 'k', appSecretEnv: 'S', ...(org ? { org } : {}) });

describe('quotaPlan', () => {
  it('puts every app in one org of 10,000 calls when the config names none', () => {
    const config = configSchema.parse({ apps: { bot: app() }, tenants: { a: tenant('bot', 1000), b: tenant('bot') } });
    const plan = quotaPlan(config);
    expect(orgOfApp(config, 'bot')).toBe(DEFAULT_ORG);
    expect(plan.orgs.get(DEFAULT_ORG)).toEqual({ id: 'default', corpId: undefined, quota: 10_000, pool: 9_000, tenants: ['a', 'b'], allocated: 1_000 });
    expect(plan.accounts.get('a')).toEqual({ org: 'default', quota: 10_000, tenant: 'a', allocation: 1_000, pool: 9_000 });
    expect(plan.accounts.get('b')).toEqual({ org: 'default', quota: 10_000, tenant: 'b', allocation: undefined, pool: 9_000 });
  });

  it('takes the one org as every app\'s, and each app\'s own among several; shares round down', () => {
    const one = configSchema.parse({ orgs: { acme: { monthlyCallQuota: 999 } }, apps: { bot: app() }, tenants: { a: tenant('bot', '33.4%') } });
    expect(quotaPlan(one).accounts.get('a')).toEqual({ org: 'acme', quota: 999, tenant: 'a', allocation: 333, pool: 666 });
    const several = configSchema.parse({
      orgs: { acme: {}, beta: { corpId: 'dingbeta', monthlyCallQuota: 50 } },
      apps: { bot: app('acme'), isv: app('beta') },
      tenants: { a: tenant('bot'), b: tenant('isv', 50) },
    });
    const plan = quotaPlan(several);
    expect([...plan.orgs.values()].map((o) => [o.id, o.quota, o.pool, o.tenants])).toEqual([
      ['acme', 10_000, 10_000, ['a']],
      ['beta', 50, 0, ['b']],
    ]);
    expect(plan.orgs.get('beta')!.corpId).toBe('dingbeta');
  });

  it('reads an allocation as calls or a share of the quota', () => {
    expect([allocationOf(undefined, 100), allocationOf(7, 100), allocationOf('25%', 10_000), allocationOf('0.5%', 999), allocationOf('100%', 3)]).toEqual([undefined, 7, 2_500, 4, 3]);
  });
});
