import { describe, expect, it } from 'vitest';
import { deriveGatewayContract, removeUnusedComponents } from './derive-gateway-contract.js';
import { type JsonObject, type OpenApiDocument, dingtalkOperationsOf, operationsOf } from './openapi-document.js';
import { readDingTalkSource, readGatewayAdditions } from './sources.js';

const dingtalk = readDingTalkSource();
const additions = readGatewayAdditions();
const gateway = deriveGatewayContract(dingtalk, additions);
/** The gateway contract's operations that are DingTalk's (not the gateway's own endpoints). */
const dingtalkOperations = () => [...dingtalkOperationsOf(gateway)];

const responseCodes = (doc: OpenApiDocument, response: JsonObject): string[] => {
  const resolve = (value: JsonObject): JsonObject => {
    const ref = value.$ref;
    if (typeof ref !== 'string') return value;
    const [, , kind, name] = ref.split('/');
    return resolve((doc.components as Record<string, Record<string, JsonObject>>)[kind!]![name!]!);
  };
  const codes: string[] = [];
  const walk = (schema: JsonObject): void => {
    const s = resolve(schema);
    if (Array.isArray(s.enum)) codes.push(...(s.enum as string[]));
    for (const key of ['allOf', 'anyOf', 'oneOf'] as const) for (const sub of (s[key] as JsonObject[] | undefined) ?? []) walk(sub);
    const code = (s.properties as Record<string, JsonObject> | undefined)?.code;
    if (code) walk(code);
  };
  const media = (resolve(response).content as Record<string, JsonObject>)['application/json']!;
  walk(media.schema as JsonObject);
  return codes;
};

describe('deriveGatewayContract', () => {
  it('keeps every DingTalk operation that takes a token and drops the token endpoints', () => {
    const ids = dingtalkOperations().map((o) => o.operation.operationId).sort();
    expect(ids).toEqual(['addSpace', 'addWorkspace', 'createWorkspaceDoc', 'getWorkspace', 'listWorkspaces']);
    expect(gateway.paths['/v1.0/oauth2/accessToken']).toBeUndefined();
    expect((gateway.tags as Array<{ name: string }>).map((t) => t.name)).not.toContain('Access tokens');
  });

  it('replaces the token header with the bearer API key', () => {
    expect(gateway.security).toEqual([{ gatewayApiKey: [] }]);
    expect(Object.keys(gateway.components!.securitySchemes!)).toEqual(['gatewayApiKey']);
    expect(JSON.stringify(gateway.paths)).not.toContain('x-acs-dingtalk-access-token');
  });

  it('keeps parameters, bodies and permissions exactly as DingTalk has them, and adds the headers the gateway reads', () => {
    for (const { path, method, operation } of dingtalkOperations()) {
      const source = dingtalk.paths[path]![method]!;
      const own = method === 'get' ? ['#/components/parameters/CacheControl'] : ['#/components/parameters/IdempotencyKey'];
      expect(operation.parameters).toEqual([...(source.parameters ?? []), ...own.map(($ref) => ({ $ref }))]);
      expect(operation.requestBody).toEqual(source.requestBody);
      expect(operation['x-dingtalk-permission']).toBe(source['x-dingtalk-permission']);
      expect(operation.responses['200']!.content).toEqual(source.responses['200']!.content);
    }
  });

  it("lists DingTalk's codes and the gateway's codes side by side for a shared status", () => {
    const add = gateway.paths['/v2.0/wiki/workspaces']!.post!;
    expect(responseCodes(gateway, add.responses['403']!)).toEqual(
      expect.arrayContaining(['permissionDenied', 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi', 'gateway.auth.scopeDenied']),
    );
    expect(responseCodes(gateway, add.responses['401']!)).toEqual(['gateway.auth.missingKey', 'gateway.auth.invalidKey']);
  });

  it("keeps DingTalk's 400 codes: the gateway answers bad input with them (its own 400 is only for a bad Idempotency-Key)", () => {
    for (const { path, method, operation } of dingtalkOperations()) {
      const codes = responseCodes(gateway, operation.responses['400']!);
      const dingtalkCodes = responseCodes(dingtalk, dingtalk.paths[path]![method]!.responses['400']!);
      expect(codes, operation.operationId).toEqual(method === 'get' ? dingtalkCodes : [...dingtalkCodes, 'gateway.idempotency.invalidKey']);
    }
    const add = gateway.paths['/v2.0/wiki/workspaces']!.post!;
    expect(responseCodes(gateway, add.responses['400']!)).toEqual(expect.arrayContaining(['paramError.name', 'InvalidAuthentication', 'paramError']));
  });

  it("shows each operation's DingTalk codes for bad input in its description, all of them in its 400", () => {
    const space = gateway.paths['/v1.0/drive/spaces']!.post!;
    expect(space.description).toContain(additions['x-gateway-invalid-input-heading'].trim());
    expect(space.description).toContain('| body property `name`: missing or of the wrong type | 400 `param.error` |');
    expect(space.description).toContain('| body property `name`: a value DingTalk refuses (empty, out of range, …) | 400 `name.invalid` |');
    expect(gateway.paths['/v2.0/wiki/workspaces']!.get!.description).toContain('| query parameter `orderBy` | 400 `paramError.orderBy` |');
    for (const { operation } of dingtalkOperations()) {
      const tabled = [...String(operation.description).matchAll(/\| (\d{3}) `([^`]+)` \|$/gm)].map(([, status, code]) => ({ status, code }));
      expect(tabled.length, operation.operationId).toBeGreaterThan(0);
      for (const { status, code } of tabled) expect(responseCodes(gateway, operation.responses[status!]!), `${operation.operationId} ${code}`).toContain(code);
    }
  });

  it("keeps both sides' examples when they share a name", () => {
    const clash = structuredClone(additions);
    const forbidden = (clash.components.responses!.GatewayForbidden!.content as Record<string, JsonObject>)['application/json']!;
    forbidden.example = { ...(forbidden.example as JsonObject), code: 'permissionDenied' };
    const merged = deriveGatewayContract(dingtalk, clash).components!.responses!.WikiForbidden403OrGateway!;
    const examples = (merged.content as Record<string, JsonObject>)['application/json']!.examples as Record<string, { value?: { code?: string } }>;
    expect(Object.keys(examples)).toEqual(expect.arrayContaining(['permissionDenied', 'gateway permissionDenied', 'AccessTokenPermissionDenied']));
    expect(examples['gateway permissionDenied']!.value!.code).toBe('permissionDenied');
    expect(examples.permissionDenied!.value!.code).toBe('permissionDenied');
  });

  it('adds the gateway statuses to every operation, 413 only where there is a body', () => {
    for (const { operation } of dingtalkOperations()) {
      for (const status of ['401', '403', '429', '500', '502', '503', '504', 'default']) {
        expect(operation.responses[status], `${operation.operationId} ${status}`).toBeDefined();
      }
      expect(Boolean(operation.responses['413'])).toBe(Boolean(operation.requestBody));
    }
  });

  it('adds request-id and rate-limit headers to every success response', () => {
    for (const { operation } of dingtalkOperations()) {
      expect(Object.keys(operation.responses['200']!.headers as JsonObject)).toEqual(
        expect.arrayContaining(['x-acs-request-id', 'x-request-id', 'RateLimit-Policy', 'RateLimit']),
      );
    }
  });

  it('every gateway error code is reachable from the contract', () => {
    const enumOf = gateway.components!.schemas!.GatewayErrorCode!.enum as string[];
    expect(enumOf).toEqual(expect.arrayContaining(['gateway.request.malformed', 'gateway.upstream.timeout']));
    expect(enumOf.filter((code) => !code.startsWith('gateway.'))).toEqual([]);
    const defaultResponse = gateway.paths['/v1.0/drive/spaces']!.post!.responses.default!;
    expect(responseCodes(gateway, defaultResponse)).toEqual(expect.arrayContaining(enumOf));
  });

  it("adds the gateway's own endpoints as written, without DingTalk's decoration", () => {
    expect([...operationsOf(gateway)].length).toBe(dingtalkOperations().length + 1);
    const usage = gateway.paths['/gateway/usage']!.get!;
    expect(usage).toEqual(additions.paths!['/gateway/usage']!.get);
    expect(usage.description).not.toContain('Invalid input');
    expect((gateway.tags as Array<{ name: string }>).map((t) => t.name)).toContain('Gateway');
    expect(gateway.components!.schemas!.GatewayUsage).toBeDefined();
    const clash = structuredClone(additions);
    clash.paths = { '/v1.0/drive/spaces': {} };
    expect(() => deriveGatewayContract(dingtalk, clash)).toThrow(/redefine the path \/v1.0\/drive\/spaces/);
  });

  it('does not change its inputs', () => {
    expect(dingtalk.paths['/v1.0/oauth2/accessToken']).toBeDefined();
    expect(readDingTalkSource()).toEqual(dingtalk);
  });

  it('refuses additions that would silently replace a DingTalk component', () => {
    const clash = structuredClone(additions);
    clash.components.schemas = { ...clash.components.schemas, Workspace: { type: 'object' } };
    expect(() => deriveGatewayContract(dingtalk, clash)).toThrow(/redefine components.schemas.Workspace/);
  });
});

describe('removeUnusedComponents', () => {
  it('keeps transitively referenced components and drops the rest', () => {
    const doc: OpenApiDocument = {
      openapi: '3.1.0',
      info: {},
      paths: { '/a': { get: { operationId: 'a', responses: { '200': { $ref: '#/components/responses/A' } } } } },
      components: {
        responses: { A: { content: { 'application/json': { schema: { $ref: '#/components/schemas/B' } } } }, Unused: {} },
        schemas: { B: { properties: { c: { $ref: '#/components/schemas/C' } } }, C: {}, D: {} },
      },
    };
    removeUnusedComponents(doc);
    expect(Object.keys(doc.components!.responses!)).toEqual(['A']);
    expect(Object.keys(doc.components!.schemas!)).toEqual(['B', 'C']);
  });
});
