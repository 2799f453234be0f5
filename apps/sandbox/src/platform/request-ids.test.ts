import { describe, expect, it } from 'vitest';
import { createSandbox } from '../app.js';
import { call, sampleCalls, tokenFor } from '../testing/helpers.js';

const REQUEST_ID = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;

describe('request ids and the error shape', () => {
  it('puts x-acs-request-id and x-acs-trace-id on every response, and requestid in every error body', async () => {
    const sandbox = createSandbox({ admin: true });
    const token = await tokenFor(sandbox);
    const calls = sampleCalls();
    const responses = [
      await call(sandbox, calls.listWorkspaces.method, calls.listWorkspaces.path, { ...calls.listWorkspaces.options, token }),
      await call(sandbox, 'GET', '/v2.0/wiki/workspaces', { token, query: { orderBy: 'bad' } }),
      await call(sandbox, 'GET', '/v2.0/wiki/workspaces'),
      await call(sandbox, 'POST', '/v1.0/oauth2/accessToken', { body: {} }),
      await call(sandbox, 'GET', '/v9.9/unknown'),
      await call(sandbox, 'DELETE', '/v2.0/wiki/workspaces'),
      await call(sandbox, 'GET', '/__sandbox/counters'),
    ];
    const ids = new Set<string>();
    for (const res of responses) {
      const requestId = res.headers.get('x-acs-request-id');
      expect(requestId).toMatch(REQUEST_ID);
      expect(res.headers.get('x-acs-trace-id')).toMatch(/^[0-9a-f]{32}$/);
      expect(res.headers.get('content-type')).toBe('application/json;charset=utf-8');
      ids.add(requestId!);
      if (res.status >= 400) {
        expect(Object.keys(res.body).sort()).toEqual(['code', 'message', 'requestid']);
        expect(res.body.requestid).toBe(requestId);
      }
    }
    expect(ids.size).toBe(responses.length);
  });

  it('answers unknown paths and methods with 404 InvalidAction.NotFound', async () => {
    const res = await call(createSandbox(), 'PUT', '/v2.0/wiki/workspaces');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('InvalidAction.NotFound');
  });

  it("tolerates the official SDK's extra headers", async () => {
    const sandbox = createSandbox();
    const headers = {
      'x-acs-action': 'ListWorkspaces',
      'x-acs-version': 'wiki_2.0',
      'x-acs-signature-nonce': 'a1b2c3d4e5f6',
      'x-acs-date': '2025-06-02T08:00:00Z',
      date: 'Mon, 02 Jun 2025 08:00:00 GMT',
      'user-agent': 'AlibabaCloud (linux; x64) Node.js/v20.20.2 Core/1.8.0 TeaDSL/1',
      accept: 'application/json',
    };
    const token = await tokenFor(sandbox);
    const { method, path, options } = sampleCalls().listWorkspaces;
    expect((await call(sandbox, method, path, { ...options, token, headers })).status).toBe(200);
  });
});
