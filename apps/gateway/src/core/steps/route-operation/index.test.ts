import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';
import { createSpecValidator } from '@dingtalk-gateway/spec-validator';
import { Hono } from 'hono';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { GatewayEnv } from '../../context.js';
import { beforeSteps } from '../before-steps.testing.js';
import { routeOperation } from './index.js';

let validator: ReturnType<typeof createSpecValidator>;
beforeAll(() => {
  validator = createSpecValidator(loadGatewayContract());
});

function setup() {
  const downstream = vi.fn();
  const app = new Hono<GatewayEnv>();
  app.use('*', beforeSteps());
  app.use('*', routeOperation({ validator }));
  app.all('*', (c) => {
    downstream();
    return c.json({ operationId: c.get('operation').operationId, pathParams: c.get('pathParams') });
  });
  return { app, downstream };
}

const body = async (response: Response) => (await response.json()) as Record<string, unknown>;

describe('routeOperation', () => {
  it.each([
    ['GET', '/v2.0/wiki/workspaces', 'listWorkspaces', {}],
    ['POST', '/v2.0/wiki/workspaces', 'addWorkspace', {}],
    ['GET', '/v2.0/wiki/workspaces/MJ0pDSKMV9dO20E4', 'getWorkspace', { workspaceId: 'MJ0pDSKMV9dO20E4' }],
    ['POST', '/v1.0/doc/workspaces/ws-1/docs', 'createWorkspaceDoc', { workspaceId: 'ws-1' }],
    ['POST', '/v1.0/drive/spaces', 'addSpace', {}],
  ])('%s %s → %s with its path parameters', async (method, path, operationId, pathParams) => {
    const { app, downstream } = setup();
    const response = await app.request(`${path}?operatorId=u`, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
    expect(response.status).toBe(200);
    expect(await body(response)).toEqual({ operationId, pathParams });
    expect(downstream).toHaveBeenCalledTimes(1);
  });

  it('sets the operation as the validator describes it (method, template, permission)', async () => {
    const app = new Hono<GatewayEnv>();
    app.use('*', routeOperation({ validator }));
    app.all('*', (c) => c.json(c.get('operation')));
    const response = await app.request('/v2.0/wiki/workspaces/abc');
    expect(await response.json()).toEqual({
      operationId: 'getWorkspace',
      method: 'GET',
      pathTemplate: '/v2.0/wiki/workspaces/{workspaceId}',
      permission: 'Wiki.Workspace.Read',
      hasBody: false,
      bodyRequired: false,
      metered: true,
    });
  });

  it.each([
    ['a%2Fb', 'a/b'],
    ['a%20b', 'a b'],
    ['caf%C3%A9', 'café'],
    ['100%25', '100%'],
    // Decoded exactly once: what the caller encoded twice stays encoded once.
    ['a%252Fb', 'a%2Fb'],
    ['%2541', '%41'],
    // What is not valid percent-encoding is kept as sent, as DingTalk (the sandbox) reads it.
    ['%E0%A4%A', '%E0%A4%A'],
    ['a%zz', 'a%zz'],
  ])('decodes the percent-encoded id %s to %j exactly once', async (raw, decoded) => {
    const { app } = setup();
    const response = await app.request(`/v2.0/wiki/workspaces/${raw}`);
    expect(response.status).toBe(200);
    expect(await body(response)).toEqual({ operationId: 'getWorkspace', pathParams: { workspaceId: decoded } });
  });

  it.each([
    '/v2.0/wiki/nothing',
    '/v2.0/wiki/workspaces/',
    '/v2.0/wiki/workspaces/abc/extra',
    '/v2.0/wiki//workspaces',
    '/v2.0/wiki/workspaces/abc/',
    '/V2.0/wiki/workspaces',
    '/',
    // Not an operation of the contract: the token endpoints are DingTalk's, never the caller's.
    '/v1.0/oauth2/accessToken',
  ])("answers %s as DingTalk answers a path it does not serve, 404 InvalidAction.NotFound, without calling on", async (path) => {
    const { app, downstream } = setup();
    const response = await app.request(path, { method: path.includes('oauth2') ? 'POST' : 'GET' });
    expect(response.status).toBe(404);
    expect(response.headers.get('x-error-code')).toBe('InvalidAction.NotFound');
    expect(response.headers.get('allow')).toBeNull();
    const parsed = await body(response);
    expect(parsed).toEqual({ code: 'InvalidAction.NotFound', message: expect.stringMatching(/^no operation at (GET|POST) \//), requestid: 'r-1' });
    expect(downstream).not.toHaveBeenCalled();
  });

  it.each([
    ['DELETE', '/v2.0/wiki/workspaces', 'GET, POST'],
    ['PUT', '/v2.0/wiki/workspaces/abc', 'GET'],
    ['POST', '/v2.0/wiki/workspaces/abc', 'GET'],
    ['GET', '/v1.0/drive/spaces', 'POST'],
    ['PATCH', '/v1.0/doc/workspaces/abc/docs', 'POST'],
  ])('answers %s %s as DingTalk answers a method it does not serve (404 InvalidAction.NotFound), with Allow: %s', async (method, path, allow) => {
    const { app, downstream } = setup();
    const response = await app.request(path, { method });
    expect(response.status).toBe(404);
    expect(response.headers.get('allow')).toBe(allow);
    expect(response.headers.get('x-error-code')).toBe('InvalidAction.NotFound');
    const parsed = await body(response);
    expect(parsed.code).toBe('InvalidAction.NotFound');
    expect(parsed.message).toBe(`no operation at ${method} ${path}; the path takes ${allow}`);
    expect(parsed.requestid).toBe('r-1');
    expect(downstream).not.toHaveBeenCalled();
  });

  it('matches on the path only, whatever the query string holds', async () => {
    const { app } = setup();
    const response = await app.request('/v2.0/wiki/workspaces?x=/v1.0/drive/spaces&y=%2F');
    expect((await body(response)).operationId).toBe('listWorkspaces');
  });
});
