import { type JsonObject, type OpenApiDocument, deref as specDeref, operationsOf } from '@dingtalk-gateway/spec';
import { loadDingTalkSpec } from '@dingtalk-gateway/spec/dingtalk-spec';
import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';
import { describe, expect, it } from 'vitest';
import { createSpecValidator } from './index.js';

const documents = { dingtalk: loadDingTalkSpec(), gateway: loadGatewayContract() };

/** The object `value` names, following its `#/...` references. */
const deref = (doc: OpenApiDocument, value: unknown): JsonObject => specDeref(doc, value).value;

interface Example {
  operationId: string;
  status: string;
  name: string;
  value: unknown;
}

/** Every example of every JSON response of every operation: `example` and each of `examples`. */
function responseExamples(doc: OpenApiDocument): Example[] {
  const found: Example[] = [];
  for (const { operation } of operationsOf(doc)) {
    for (const [status, ref] of Object.entries(operation.responses)) {
      const media = (deref(doc, ref).content as Record<string, JsonObject> | undefined)?.['application/json'];
      if (!media) continue;
      if (media.example !== undefined) found.push({ operationId: operation.operationId, status, name: 'example', value: media.example });
      for (const [name, example] of Object.entries((media.examples as JsonObject | undefined) ?? {})) {
        found.push({ operationId: operation.operationId, status, name, value: deref(doc, example).value });
      }
    }
  }
  return found;
}

// No operation declares 405; the gateway answers it itself, under `default`.
const statusOf = (key: string): number => (key === 'default' ? 405 : Number(key));

describe.each(Object.entries(documents))('the %s document', (_name, doc) => {
  const validator = createSpecValidator(doc);
  const examples = responseExamples(doc);

  it('has an example for every JSON response', () => {
    for (const { operation } of operationsOf(doc)) {
      for (const [status, ref] of Object.entries(operation.responses)) {
        if (!(deref(doc, ref).content as JsonObject | undefined)?.['application/json']) continue;
        expect(examples.some((e) => e.operationId === operation.operationId && e.status === status), `${operation.operationId} ${status}`).toBe(true);
      }
    }
  });

  it('accepts every response example of the spec (the validator and the spec agree)', () => {
    expect(examples.length).toBeGreaterThan(20);
    for (const { operationId, status, name, value } of examples) {
      expect(validator.validateResponse(operationId, statusOf(status), value), `${operationId} ${status} ${name}`).toEqual({ ok: true });
    }
  });

  it('accepts every request example of the spec', () => {
    for (const { path, method, operation } of operationsOf(doc)) {
      const pathParams: Record<string, string> = {};
      const query = new URLSearchParams();
      for (const ref of [...((doc.paths[path]!.parameters as unknown[] | undefined) ?? []), ...(operation.parameters ?? [])]) {
        const parameter = deref(doc, ref);
        if (parameter.example === undefined) {
          expect(parameter.required, `${operation.operationId}: required parameter '${String(parameter.name)}' has no example`).not.toBe(true);
          continue;
        }
        if (parameter.in === 'path') pathParams[String(parameter.name)] = String(parameter.example);
        else query.set(String(parameter.name), String(parameter.example));
      }
      const body = (deref(doc, operation.requestBody ?? {}).content as Record<string, JsonObject> | undefined)?.['application/json']?.example;
      if (operation.requestBody) expect(body, `${operation.operationId} has a request body example`).toBeDefined();

      const match = validator.match(method, path.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(pathParams[name]!)));
      expect(match).toMatchObject({ kind: 'operation', pathParams });
      const sent = body === undefined ? undefined : { bytes: new TextEncoder().encode(JSON.stringify(body)), contentType: 'application/json' };
      expect(validator.validateRequest(validator.operation(operation.operationId)!, { pathParams, query, body: sent }), operation.operationId).toMatchObject({
        ok: true,
      });
    }
  });

  it('refuses a code that the status does not list', () => {
    const paramErrorName = { code: 'paramError.name', message: 'name is required', requestid: 'r' };
    expect(validator.validateResponse('addWorkspace', 400, paramErrorName)).toEqual({ ok: true });
    const result = validator.validateResponse('getWorkspace', 400, paramErrorName);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toMatch(/^response body property 'code' must be one of paramError, isNotWorkspace, InvalidAuthentication, AuthenticationFailed.MissingParameter/);
    }
    const forbidden = { code: 'addSpace.forbiden', message: 'Add space is forbiden.', requestid: 'r' };
    expect(validator.validateResponse('addSpace', 400, forbidden)).toEqual({ ok: true });
    expect(validator.validateResponse('addWorkspace', 400, forbidden).ok).toBe(false);
    expect(validator.validateResponse('getWorkspace', 404, { code: 'teamNotExist', message: 'm', requestid: 'r' })).toEqual({
      ok: false,
      errors: ["response body property 'code' must be one of workspaceNotExist"],
    });
  });

  it('reports every problem of a success body, by field', () => {
    const result = validator.validateResponse('getWorkspace', 200, { workspace: { workspaceId: 'w', corpId: 'c', rootNodeId: 'r', name: 'n', type: 'WIKI', icon: { type: 'URL' } } });
    expect(result).toEqual({
      ok: false,
      errors: ["response body property 'workspace.type' must be one of TEAM, PERSONAL", "response body property 'workspace.icon' must have required property 'value'"],
    });
    const page = { workspaces: Array.from({ length: 31 }, () => ({ workspaceId: 'w', corpId: 'c', rootNodeId: 'r', name: 'n', type: 'TEAM' })) };
    expect(validator.validateResponse('listWorkspaces', 200, page)).toEqual({ ok: false, errors: ["response body property 'workspaces' must have at most 30 items"] });
    page.workspaces.length = 30;
    expect(validator.validateResponse('listWorkspaces', 200, page)).toEqual({ ok: true });
    expect(validator.validateResponse('listWorkspaces', 200, { workspaces: [{ workspaceId: 'w', corpId: 'c', rootNodeId: 'r', name: 5, type: 'TEAM' }] })).toEqual({
      ok: false,
      errors: ["response body property 'workspaces[0].name' must be a string"],
    });
  });

  it('checks int64 fields as 64-bit integers', () => {
    const space = { spaceId: '1', spaceName: 's' };
    expect(validator.validateResponse('addSpace', 200, { ...space, quota: 2 ** 62 })).toEqual({ ok: true });
    expect(validator.validateResponse('addSpace', 200, { ...space, quota: 2 ** 64 })).toEqual({ ok: false, errors: ["response body property 'quota' must be a 64-bit integer"] });
    expect(validator.validateResponse('addSpace', 200, { ...space, usedQuota: 1.5 })).toEqual({ ok: false, errors: ["response body property 'usedQuota' must be an integer"] });
  });

  it('throws for an operation the document does not have', () => {
    expect(() => validator.validateResponse('deleteWorkspace', 200, {})).toThrow(/unknown operation 'deleteWorkspace'/);
  });
});

describe('status fallback', () => {
  it('uses default where the status is not declared (gateway contract)', () => {
    const gateway = createSpecValidator(documents.gateway);
    const notAllowed = { code: 'gateway.route.methodNotAllowed', message: 'DELETE is not allowed', requestid: 'r' };
    expect(gateway.validateResponse('getWorkspace', 405, notAllowed)).toEqual({ ok: true });
    expect(gateway.validateResponse('getWorkspace', 418, { code: 'anyDingTalkCode', message: 'm', requestid: 'r' })).toEqual({ ok: true });
    expect(gateway.validateResponse('getWorkspace', 405, { code: 'gateway.route.methodNotAllowed' })).toEqual({
      ok: false,
      errors: ["response body must have required property 'message'", "response body must have required property 'requestid'"],
    });
  });

  it('reports a status that is neither declared nor covered by default (DingTalk spec)', () => {
    const dingtalk = createSpecValidator(documents.dingtalk);
    expect(dingtalk.validateResponse('getWorkspace', 401, {})).toEqual({ ok: false, errors: ['getWorkspace declares no response for status 401 and no default'] });
  });

  it('merges the gateway and DingTalk answers where both can answer', () => {
    const gateway = createSpecValidator(documents.gateway);
    const scopeDenied = { code: 'gateway.auth.scopeDenied', message: 'm', requestid: 'r' };
    expect(gateway.validateResponse('getWorkspace', 403, scopeDenied)).toEqual({ ok: true });
    expect(gateway.validateResponse('getWorkspace', 403, { ...scopeDenied, code: 'permissionDenied' })).toEqual({ ok: true });
    expect(createSpecValidator(documents.dingtalk).validateResponse('getWorkspace', 403, scopeDenied).ok).toBe(false);
  });
});
