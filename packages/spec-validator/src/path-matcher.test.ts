import { operationsOf } from '@dingtalk-gateway/spec';
import { loadDingTalkSpec } from '@dingtalk-gateway/spec/dingtalk-spec';
import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';
import { describe, expect, it } from 'vitest';
import { createSpecValidator } from './index.js';
import { PathMatcher } from './path-matcher.js';

const documents = { dingtalk: loadDingTalkSpec(), gateway: loadGatewayContract() };

describe.each(Object.entries(documents))('match() on the %s document', (_name, doc) => {
  const validator = createSpecValidator(doc);

  it('finds every operation by method and path, with its path parameters', () => {
    let count = 0;
    for (const { path, method, operation } of operationsOf(doc)) {
      const concrete = path.replace(/\{([^}]+)\}/g, (_m, name: string) => `id-of-${name}`);
      const match = validator.match(method.toUpperCase(), concrete);
      expect(match.kind, `${method} ${concrete}`).toBe('operation');
      if (match.kind !== 'operation') continue;
      expect(match.operation.operationId).toBe(operation.operationId);
      expect(match.operation.pathTemplate).toBe(path);
      expect(match.operation.permission).toBe(operation['x-dingtalk-permission']);
      expect(match.operation.hasBody).toBe(operation.requestBody !== undefined);
      for (const [name, value] of Object.entries(match.pathParams)) expect(value).toBe(`id-of-${name}`);
      count++;
    }
    expect(count).toBe(validator.operations.length);
    expect(count).toBeGreaterThanOrEqual(4);
  });

  it('answers methodNotAllowed with the methods the path has', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      const declared = Object.keys(item).filter((key) => key !== 'parameters').map((m) => m.toUpperCase());
      const match = validator.match('DELETE', path.replace(/\{[^}]+\}/g, 'x'));
      expect(match).toEqual({ kind: 'methodNotAllowed', allowed: expect.arrayContaining(declared) });
      if (match.kind === 'methodNotAllowed') expect(match.allowed).toHaveLength(declared.length);
    }
  });
});

describe('match() on the gateway contract', () => {
  const validator = createSpecValidator(documents.gateway);

  it('knows the operation, its permission and whether it takes a body', () => {
    expect(validator.match('GET', '/v2.0/wiki/workspaces/abc')).toEqual({
      kind: 'operation',
      operation: {
        operationId: 'getWorkspace',
        method: 'GET',
        pathTemplate: '/v2.0/wiki/workspaces/{workspaceId}',
        permission: 'Wiki.Workspace.Read',
        hasBody: false,
        metered: true,
        bodyRequired: false,
      },
      pathParams: { workspaceId: 'abc' },
    });
    expect(validator.operation('addSpace')).toMatchObject({ method: 'POST', permission: 'Drive.Space.Write', hasBody: true, bodyRequired: true });
  });

  it('lists GET and POST for another method on /v2.0/wiki/workspaces', () => {
    expect(validator.match('DELETE', '/v2.0/wiki/workspaces')).toEqual({ kind: 'methodNotAllowed', allowed: ['GET', 'POST'] });
    expect(validator.match('PUT', '/v2.0/wiki/workspaces/abc')).toEqual({ kind: 'methodNotAllowed', allowed: ['GET'] });
  });

  it('accepts the method in any case', () => {
    expect(validator.match('get', '/v2.0/wiki/workspaces')).toMatchObject({ operation: { operationId: 'listWorkspaces' } });
    expect(validator.match('Post', '/v2.0/wiki/workspaces')).toMatchObject({ operation: { operationId: 'addWorkspace' } });
  });

  it('does not expose the token endpoints, which the gateway drops', () => {
    expect(validator.match('POST', '/v1.0/oauth2/accessToken')).toEqual({ kind: 'notFound' });
  });

  it('percent-decodes path parameters, keeping what is not valid percent-encoding as sent', () => {
    const workspaceId = (path: string) => {
      const match = validator.match('POST', path);
      return match.kind === 'operation' ? match.pathParams.workspaceId : match.kind;
    };
    expect(workspaceId('/v1.0/doc/workspaces/a%20b/docs')).toBe('a b');
    expect(workspaceId('/v1.0/doc/workspaces/a%2Fb/docs')).toBe('a/b');
    expect(workspaceId('/v1.0/doc/workspaces/%E4%B8%AD%E6%96%87/docs')).toBe('中文');
    expect(workspaceId('/v1.0/doc/workspaces/100%25/docs')).toBe('100%');
    expect(workspaceId('/v1.0/doc/workspaces/%E0%A4%A/docs')).toBe('%E0%A4%A');
    expect(workspaceId('/v1.0/doc/workspaces/%/docs')).toBe('%');
    expect(workspaceId('/v1.0/doc/workspaces/a%20b%zz%FF/docs')).toBe('a b%zz%FF');
  });

  it('compares literal segments decoded, as DingTalk routes them', () => {
    expect(validator.match('GET', '/v2.0/wiki/%77orkspaces')).toMatchObject({ operation: { operationId: 'listWorkspaces' } });
    expect(validator.match('GET', '/v2.0/wiki%2Fworkspaces')).toEqual({ kind: 'notFound' });
  });

  it.each([
    ['/v2.0/wiki/workspaces/', 'trailing slash'],
    ['/v2.0/wiki/workspaces/abc/', 'trailing slash after a parameter'],
    ['/v2.0/wiki/workspaces/abc/extra', 'trailing segment'],
    ['/v2.0/wiki/workspacesX', 'trailing characters'],
    ['/v2.0/wiki', 'prefix'],
    ['//v2.0/wiki/workspaces', 'double slash'],
    ['/v2.0/wiki//workspaces', 'empty segment'],
    ['v2.0/wiki/workspaces', 'no leading slash'],
    ['/V2.0/wiki/workspaces', 'different case'],
    ['/v1.0/doc/workspaces//docs', 'empty parameter'],
    ['', 'empty path'],
    ['/', 'root'],
  ])('does not find %s (%s)', (path) => {
    expect(validator.match('GET', path)).toEqual({ kind: 'notFound' });
  });
});

describe('PathMatcher', () => {
  const routes = [
    { method: 'GET', template: '/users/{id}', value: 'user' },
    { method: 'GET', template: '/users/me', value: 'me' },
    { method: 'GET', template: '/users/{id}/posts', value: 'posts' },
    { method: 'GET', template: '/users/me/settings', value: 'settings' },
    { method: 'GET', template: '/', value: 'root' },
  ];
  const matcher = new PathMatcher(routes);

  it('prefers a literal segment to a parameter', () => {
    expect(matcher.match('GET', '/users/me')).toMatchObject({ operation: 'me', pathParams: {} });
    expect(matcher.match('GET', '/users/you')).toMatchObject({ operation: 'user', pathParams: { id: 'you' } });
  });

  it('backtracks to the parameter when the literal leads nowhere', () => {
    expect(matcher.match('GET', '/users/me/posts')).toMatchObject({ operation: 'posts', pathParams: { id: 'me' } });
    expect(matcher.match('GET', '/users/me/settings')).toMatchObject({ operation: 'settings' });
  });

  it('matches the root path', () => {
    expect(matcher.match('GET', '/')).toMatchObject({ operation: 'root' });
  });

  it('refuses templates it cannot match exactly', () => {
    expect(() => new PathMatcher([{ method: 'GET', template: '/files/{name}.json', value: 1 }])).toThrow(/whole segment/);
    expect(() => new PathMatcher([{ method: 'GET', template: 'files', value: 1 }])).toThrow(/must start with/);
    expect(
      () =>
        new PathMatcher([
          { method: 'GET', template: '/a/{x}', value: 1 },
          { method: 'POST', template: '/a/{y}', value: 2 },
        ]),
    ).toThrow(/different parameter names/);
    expect(
      () =>
        new PathMatcher([
          { method: 'GET', template: '/a', value: 1 },
          { method: 'GET', template: '/a', value: 2 },
        ]),
    ).toThrow(/defined twice/);
  });
});
