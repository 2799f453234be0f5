import { dingtalkOperationsOf } from '@dingtalk-gateway/spec';
import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';
import { type OperationInfo, createSpecValidator } from '@dingtalk-gateway/spec-validator';
import { Hono } from 'hono';
import { describe, expect, it, vi } from 'vitest';
import type { GatewayEnv } from '../../context.js';
import { beforeSteps } from '../before-steps.testing.js';
import type { Tenant } from '../../tenants.js';
import { authorizeScopes } from './index.js';

const operation = (operationId: string, permission: string | undefined): OperationInfo => ({
  operationId,
  method: 'POST',
  pathTemplate: '/x',
  permission,
  hasBody: true,
  bodyRequired: true,
  metered: true,
});

const tenant = (scopes: string[]): Tenant => ({
  id: 'team',
  name: 'Team',
  appId: 'app',
  scopes: new Set(scopes),
  rateLimit: { rate: 1, burst: 1 },
  operationLimits: new Map(),
  account: { org: 'default', quota: 10_000, tenant: 'team', allocation: undefined, pool: 10_000 },
});

function call(scopes: string[], op: OperationInfo) {
  const downstream = vi.fn();
  const app = new Hono<GatewayEnv>();
  app.use(
    '*',
    beforeSteps((c) => {
      c.set('tenant', tenant(scopes));
      c.set('operation', op);
    }),
  );
  app.use('*', authorizeScopes());
  app.all('*', (c) => {
    downstream();
    return c.text('through');
  });
  return { response: Promise.resolve(app.request('/x', { method: 'POST' })), downstream };
}

describe('authorizeScopes', () => {
  it('lets a tenant call an operation whose permission it holds', async () => {
    const { response, downstream } = call(['Wiki.Workspace.Read', 'Wiki.Workspace.Write'], operation('addWorkspace', 'Wiki.Workspace.Write'));
    const res = await response;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('through');
    expect(downstream).toHaveBeenCalledTimes(1);
  });

  it('answers 403 gateway.auth.scopeDenied naming the missing permission', async () => {
    const { response, downstream } = call(['Wiki.Workspace.Read'], operation('addWorkspace', 'Wiki.Workspace.Write'));
    const res = await response;
    expect(res.status).toBe(403);
    expect(res.headers.get('x-error-code')).toBe('gateway.auth.scopeDenied');
    expect(await res.json()).toEqual({
      code: 'gateway.auth.scopeDenied',
      message: 'this API key may not call addWorkspace',
      requestid: 'r-1',
      accessdenieddetail: { requiredScopes: ['Wiki.Workspace.Write'] },
    });
    expect(downstream).not.toHaveBeenCalled();
  });

  it('compares permissions exactly (no prefix, no case folding)', async () => {
    for (const scopes of [['Wiki.Workspace'], ['wiki.workspace.write'], ['Wiki.Workspace.Write '], ['*']]) {
      const { response } = call(scopes, operation('addWorkspace', 'Wiki.Workspace.Write'));
      expect((await response).status).toBe(403);
    }
  });

  it('fails closed: an operation that declares no permission is refused, even to a tenant with every scope', async () => {
    const { response, downstream } = call(['Wiki.Workspace.Read', 'Wiki.Workspace.Write', 'Drive.Space.Write', ''], operation('undeclared', undefined));
    const res = await response;
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      code: 'gateway.auth.scopeDenied',
      message: 'this API key may not call undeclared',
      requestid: 'r-1',
      accessdenieddetail: { requiredScopes: [] },
    });
    expect(downstream).not.toHaveBeenCalled();
  });

  it("grants each of the contract's DingTalk operations to exactly the tenants holding its permission", async () => {
    const contract = loadGatewayContract();
    const dingtalk = new Set([...dingtalkOperationsOf(contract)].map(({ operation }) => operation.operationId));
    const operations = createSpecValidator(contract).operations.filter((op) => dingtalk.has(op.operationId));
    expect(operations.length).toBeGreaterThan(0);
    const permissions = [...new Set(operations.map((op) => op.permission))];
    for (const op of operations) {
      expect(op.permission, `${op.operationId} declares x-dingtalk-permission`).toEqual(expect.any(String));
      expect((await call([op.permission!], op).response).status).toBe(200);
      const others = permissions.filter((p): p is string => p !== undefined && p !== op.permission);
      expect((await call(others, op).response).status).toBe(403);
    }
  });
});
