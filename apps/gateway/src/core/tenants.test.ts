import { describe, expect, it } from 'vitest';
import { type GatewayConfig, configSchema } from '../config/schema.js';
import { buildTenants } from './tenants.js';

const READ = 'Wiki.Workspace.Read';
const WRITE = 'Wiki.Workspace.Write';

function configWith(tenants: Record<string, Record<string, unknown>>): GatewayConfig {
  return configSchema.parse({
    upstream: { baseUrl: 'http://dingtalk.test' },
    apps: { a: { type: 'internal', appKey: 'k', appSecretEnv: 'A_SECRET' }, b: { type: 'internal', appKey: 'k2', appSecretEnv: 'B_SECRET' } },
    tenants: Object.fromEntries(
      Object.entries(tenants).map(([id, tenant], i) => [
        id,
        { name: `Tenant ${id}`, app: 'a', apiKeys: [{ sha256: String(i).padStart(64, '0') }], rateLimit: { rate: 10, burst: 20 }, ...tenant },
      ]),
    ),
  });
}

describe('buildTenants', () => {
  it('gives each tenant its own id, name, app, scopes and limits', () => {
    const tenants = buildTenants(
      configWith({
        reader: { scopes: [READ] },
        writer: { app: 'b', scopes: [WRITE, READ], rateLimit: { rate: 0.5, burst: 1 }, operationLimits: { addWorkspace: { rate: 1, burst: 2 } } },
      }),
    );
    const reader = tenants.get('reader')!;
    const writer = tenants.get('writer')!;
    expect(reader).toMatchObject({ id: 'reader', name: 'Tenant reader', appId: 'a', rateLimit: { rate: 10, burst: 20 } });
    expect([...reader.scopes]).toEqual([READ]);
    expect(reader.operationLimits.size).toBe(0);
    expect(writer).toMatchObject({ id: 'writer', name: 'Tenant writer', appId: 'b', rateLimit: { rate: 0.5, burst: 1 } });
    expect(writer.scopes.has(READ) && writer.scopes.has(WRITE)).toBe(true);
    expect(writer.operationLimits.get('addWorkspace')).toEqual({ rate: 1, burst: 2 });
    expect(writer.operationLimits.get('listWorkspaces')).toBeUndefined();
  });

  it('shares one set, policy or map between tenants whose scopes or limits are equal (memory)', () => {
    const tenants = buildTenants(
      configWith({
        one: { scopes: [READ, WRITE], operationLimits: { addWorkspace: { rate: 1, burst: 2 } } },
        two: { scopes: [WRITE, READ], operationLimits: { addWorkspace: { rate: 1, burst: 2 } } },
        three: { scopes: [READ], rateLimit: { rate: 10, burst: 21 }, operationLimits: { addWorkspace: { rate: 1, burst: 3 } } },
      }),
    );
    const [one, two, three] = ['one', 'two', 'three'].map((id) => tenants.get(id)!);
    expect(two!.scopes).toBe(one!.scopes);
    expect(two!.rateLimit).toBe(one!.rateLimit);
    expect(two!.operationLimits).toBe(one!.operationLimits);
    // Equal in part is not equal: each difference gets its own object.
    expect(three!.scopes).not.toBe(one!.scopes);
    expect(three!.rateLimit).not.toBe(one!.rateLimit);
    expect(three!.rateLimit).toEqual({ rate: 10, burst: 21 });
    expect(three!.operationLimits).not.toBe(one!.operationLimits);
    expect(three!.operationLimits.get('addWorkspace')).toEqual({ rate: 1, burst: 3 });
  });
});
