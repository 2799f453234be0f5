import { describe, expect, it } from 'vitest';
import { createSandbox } from '../app.js';
import { seeded } from '../seed.js';
import { call, expectError, sampleCalls, tokenFor } from '../testing/helpers.js';

describe("the app's permissions", () => {
  it.each([
    ['addWorkspace', 'Wiki.Workspace.Write'],
    ['createWorkspaceDoc', 'Document.WorkspaceDocument.Write'],
    ['addSpace', 'Drive.Space.Write'],
  ] as const)('%s without %s is 403 AccessTokenPermissionDenied naming the scope', async (operationId, scope) => {
    const sandbox = createSandbox();
    const token = await tokenFor(sandbox, seeded.apps.readOnly);
    const { method, path, options } = sampleCalls()[operationId];
    const res = await call(sandbox, method, path, { ...options, token });
    expectError(res, 403, 'Forbidden.AccessDenied.AccessTokenPermissionDenied');
    expect(res.body.accessdenieddetail).toEqual({ requiredScopes: [scope] });
  });

  it.each(['listWorkspaces', 'getWorkspace'] as const)('%s works with the read-only app', async (operationId) => {
    const sandbox = createSandbox();
    const token = await tokenFor(sandbox, seeded.apps.readOnly);
    const { method, path, options } = sampleCalls()[operationId];
    expect((await call(sandbox, method, path, { ...options, token })).status).toBe(200);
  });

  it("reads each operation's permission from the spec's x-dingtalk-permission", () => {
    const { operations } = createSandbox();
    expect(Object.fromEntries([...operations.values()].map((o) => [o.operationId, o.permission]))).toEqual({
      getAccessToken: undefined,
      getCorpAccessToken: undefined,
      addWorkspace: 'Wiki.Workspace.Write',
      listWorkspaces: 'Wiki.Workspace.Read',
      getWorkspace: 'Wiki.Workspace.Read',
      createWorkspaceDoc: 'Document.WorkspaceDocument.Write',
      addSpace: 'Drive.Space.Write',
    });
  });

  it('checks permissions before parameters', async () => {
    const sandbox = createSandbox();
    const token = await tokenFor(sandbox, seeded.apps.readOnly);
    const res = await call(sandbox, 'POST', '/v2.0/wiki/workspaces', { token, body: {} });
    expectError(res, 403, 'Forbidden.AccessDenied.AccessTokenPermissionDenied');
  });
});
