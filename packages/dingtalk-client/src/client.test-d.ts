import { describe, expectTypeOf, it } from 'vitest';
import { createDirectClient } from './direct-client.js';
import { createGatewayClient } from './gateway-client.js';
import type { DriveSpace, Workspace, WorkspaceDoc } from './index.js';

const gateway = createGatewayClient({ baseUrl: 'http://127.0.0.1:8787', apiKey: 'dtg_x' });
const direct = createDirectClient({ appKey: 'k', appSecret: 's' });
const operatorId = 'tXguN309iPhE4roSKPlLURAiEiE';

describe('typed client', () => {
  it('returns the 2xx body of each operation', () => {
    expectTypeOf(gateway.GET('/v2.0/wiki/workspaces/{workspaceId}', { params: { path: { workspaceId: 'w' }, query: { operatorId } } }))
      .resolves.toHaveProperty('workspace').toEqualTypeOf<Workspace>();
    expectTypeOf(gateway.GET('/v2.0/wiki/workspaces', { params: { query: { operatorId, maxResults: 10, orderBy: 'CREATE_TIME_DESC' } } }))
      .resolves.toHaveProperty('workspaces').toEqualTypeOf<Workspace[]>();
    expectTypeOf(direct.POST('/v1.0/doc/workspaces/{workspaceId}/docs', {
      params: { path: { workspaceId: 'w' } },
      body: { name: 'n', docType: 'FOLDER', operatorId },
    })).resolves.toEqualTypeOf<WorkspaceDoc>();
    expectTypeOf(gateway.POST('/v1.0/drive/spaces', { body: { name: 'n', unionId: 'u' } })).resolves.toEqualTypeOf<DriveSpace>();
  });

  it("types the gateway's own headers: Cache-Control on reads, Idempotency-Key on writes, neither in direct mode", () => {
    void gateway.GET('/v2.0/wiki/workspaces/{workspaceId}', { params: { path: { workspaceId: 'w' }, query: { operatorId }, header: { 'Cache-Control': 'no-cache' } } });
    void gateway.POST('/v1.0/drive/spaces', { params: { header: { 'Idempotency-Key': '8e03978e-40d5-43e8-bc93-6894a57f9324' } }, body: { name: 'n', unionId: 'u' } });
    // @ts-expect-error a read takes no Idempotency-Key
    void gateway.GET('/v2.0/wiki/workspaces', { params: { query: { operatorId }, header: { 'Idempotency-Key': 'k' } } });
    // @ts-expect-error DingTalk itself knows neither
    void direct.POST('/v1.0/drive/spaces', { params: { header: { 'Idempotency-Key': 'k' } }, body: { name: 'n', unionId: 'u' } });
    createGatewayClient({ baseUrl: 'http://127.0.0.1:8787', apiKey: 'dtg_x', retry: { maxAttempts: 5, maxWaitMs: 30_000 }, idempotencyKeys: true });
    createGatewayClient({ baseUrl: 'http://127.0.0.1:8787', apiKey: 'dtg_x', retry: false });
    // @ts-expect-error a retry policy is a policy or false
    createGatewayClient({ baseUrl: 'http://127.0.0.1:8787', apiKey: 'dtg_x', retry: true });
    createDirectClient({ appKey: 'k', appSecret: 's', limits: { qpsLimit: 60, throttleRetries: 1 } });
  });

  it('refuses a path that is not in the contract', () => {
    // @ts-expect-error no such operation
    void gateway.GET('/v2.0/wiki/workspace', { params: { query: { operatorId } } });
    // @ts-expect-error the gateway does not expose the token endpoints
    void gateway.POST('/v1.0/oauth2/accessToken', { body: { appKey: 'k', appSecret: 's' } });
    // @ts-expect-error wrong method for the path
    void gateway.POST('/v2.0/wiki/workspaces/{workspaceId}', { params: { path: { workspaceId: 'w' }, query: { operatorId } } });
  });

  it('requires operatorId where DingTalk does', () => {
    // @ts-expect-error operatorId is required
    void gateway.GET('/v2.0/wiki/workspaces', { params: { query: {} } });
    // @ts-expect-error operatorId is required
    void gateway.GET('/v2.0/wiki/workspaces/{workspaceId}', { params: { path: { workspaceId: 'w' }, query: { withPermissionRole: true } } });
    // @ts-expect-error operatorId is required in the body
    void gateway.POST('/v1.0/doc/workspaces/{workspaceId}/docs', { params: { path: { workspaceId: 'w' } }, body: { name: 'n', docType: 'DOC' } });
    // @ts-expect-error the path parameter is required
    void gateway.GET('/v2.0/wiki/workspaces/{workspaceId}', { params: { query: { operatorId } } });
  });

  it('refuses values outside the enums', () => {
    // @ts-expect-error not an orderBy value
    void gateway.GET('/v2.0/wiki/workspaces', { params: { query: { operatorId, orderBy: 'NAME_ASC' } } });
    // @ts-expect-error not a docType
    void gateway.POST('/v1.0/doc/workspaces/{workspaceId}/docs', { params: { path: { workspaceId: 'w' } }, body: { name: 'n', docType: 'PDF', operatorId } });
    // @ts-expect-error not a templateType
    void gateway.POST('/v1.0/doc/workspaces/{workspaceId}/docs', { params: { path: { workspaceId: 'w' } }, body: { name: 'n', docType: 'DOC', operatorId, templateType: 'org_template' } });
    // @ts-expect-error maxResults is a number
    void gateway.GET('/v2.0/wiki/workspaces', { params: { query: { operatorId, maxResults: '30' } } });
  });

  it('direct mode needs credentials or a token provider', () => {
    // @ts-expect-error appSecret is missing
    createDirectClient({ appKey: 'k' });
  });
});
