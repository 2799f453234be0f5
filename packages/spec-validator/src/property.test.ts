/**
 * Whatever a client sends, the validator answers ok or an error naming a field; it never
 * throws. Fixed seed, so a failure reproduces.
 */
import { loadDingTalkSpec } from '@dingtalk-gateway/spec/dingtalk-spec';
import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createGatewayContractValidator } from '@dingtalk-gateway/spec-validator/gateway-contract';
import { OPENAPI_FORMATS, OPENAPI_FORMATS_SOURCE } from './ajv.js';
import { createSpecValidator, type RequestValidation } from './index.js';

const SETTINGS = { seed: 20251101, numRuns: 400 } as const;

const validators = [createSpecValidator(loadGatewayContract()), createSpecValidator(loadDingTalkSpec())];
const operations = validators.flatMap((validator) => validator.operations.map((operation) => ({ validator, operation })));

const knownNames = ['operatorId', 'maxResults', 'orderBy', 'withPermissionRole', 'nextToken', 'teamId', 'workspaceId'];
const interestingValues = ['', 'true', 'false', '0', '30', '31', '-1', '1.5', '1e3', 'VIEW_TIME_DESC', '%', '%E0%A4%A', '\u0000', '中文'];

const name = fc.oneof(fc.constantFrom(...knownNames), fc.string({ maxLength: 12 }));
const value = fc.oneof(fc.constantFrom(...interestingValues), fc.string({ maxLength: 20 }), fc.integer().map(String));
const queryString = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.array(fc.tuple(name, value), { maxLength: 8 }).map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')),
);
const body = fc.option(fc.jsonValue({ maxDepth: 4 }), { nil: undefined });
const objectBody = fc.dictionary(fc.constantFrom('name', 'docType', 'operatorId', 'option', 'unionId', 'templateType', 'appKey'), fc.jsonValue({ maxDepth: 2 }));

function expectWellFormed(result: RequestValidation): void {
  if (result.ok) {
    expect(typeof result.query).toBe('object');
    return;
  }
  expect(result.message.length).toBeGreaterThan(0);
  expect(result.status).toBe(400);
  expect(result.code.length).toBeGreaterThan(0);
  expect(result.field).toMatch(/^(query|path|body)\b/);
  expect(result.message.startsWith(`${result.field.split('.')[0]}`)).toBe(true);
}

describe('validateRequest', () => {
  it('never throws for random query strings, path parameters and bodies', () => {
    fc.assert(
      fc.property(fc.constantFrom(...operations), queryString, fc.string({ maxLength: 20 }), fc.oneof(body, objectBody), ({ validator, operation }, query, workspaceId, json) => {
        const body = json === undefined ? undefined : { bytes: new TextEncoder().encode(JSON.stringify(json)), contentType: 'application/json' };
        expectWellFormed(validator.validateRequest(operation, { pathParams: { workspaceId }, query: new URLSearchParams(query), body }));
      }),
      SETTINGS,
    );
  });

  it('accepts exactly the maxResults in 1..30, as a number', () => {
    const [gateway] = validators;
    const list = gateway!.operation('listWorkspaces')!;
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), (n) => {
        const result = gateway!.validateRequest(list, { query: new URLSearchParams({ operatorId: 'u', maxResults: String(n) }) });
        if (n >= 1 && n <= 30) expect(result).toMatchObject({ ok: true, query: { maxResults: n } });
        else expect(result).toMatchObject({ ok: false, field: 'query.maxResults', message: expect.stringMatching(/^query parameter 'maxResults' must be [<>]= (1|30)$/) });
      }),
      SETTINGS,
    );
  });
});

describe('match', () => {
  const segment = fc.oneof(fc.constantFrom('v2.0', 'v1.0', 'wiki', 'workspaces', 'doc', 'docs', 'drive', 'spaces', 'oauth2', '', '%', '%2F', '%E0%A4%A'), fc.string({ maxLength: 8 }));
  const path = fc.oneof(fc.string({ maxLength: 40 }), fc.array(segment, { maxLength: 6 }).map((segments) => `/${segments.join('/')}`));
  const method = fc.oneof(fc.constantFrom('GET', 'POST', 'put', 'DELETE', 'HEAD'), fc.string({ maxLength: 7 }));

  it('never throws and always answers one of the three kinds', () => {
    fc.assert(
      fc.property(fc.constantFrom(...validators), method, path, (validator, m, p) => {
        const match = validator.match(m, p);
        expect(['operation', 'notFound', 'methodNotAllowed']).toContain(match.kind);
        if (match.kind === 'methodNotAllowed') expect(match.allowed.length).toBeGreaterThan(0);
        if (match.kind === 'operation') expect(Object.values(match.pathParams).every((v) => v.length > 0)).toBe(true);
      }),
      SETTINGS,
    );
  });
});

describe('validateResponse', () => {
  it('never throws for random bodies and statuses', () => {
    fc.assert(
      fc.property(fc.constantFrom(...operations), fc.integer({ min: 100, max: 599 }), body, ({ validator, operation }, status, json) => {
        const result = validator.validateResponse(operation.operationId, status, json);
        if (!result.ok) expect(result.errors.length).toBeGreaterThan(0);
      }),
      SETTINGS,
    );
  });
});

describe('the validators compiled at build time (@dingtalk-gateway/spec-validator/gateway-contract)', () => {
  // The corpus is large on purpose: the two must agree on every verdict and every message.
  const CORPUS = { seed: 20261206, numRuns: 5_000 } as const;
  const atRunTime = validators[0]!;
  const atBuildTime = createGatewayContractValidator();
  const pairs = atRunTime.operations.map((operation) => ({ operation, precompiled: atBuildTime.operation(operation.operationId)! }));
  const responseKeys = fc.constantFrom('workspace', 'workspaces', 'nextToken', 'workspaceId', 'name', 'type', 'url', 'icon', 'code', 'message', 'requestid', 'accessToken', 'expireIn', 'spaceId', 'nodeId', 'docKey');
  const responseBody = fc.oneof(body, fc.dictionary(responseKeys, fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.dictionary(responseKeys, fc.jsonValue({ maxDepth: 1 })))));

  it('has the same operations', () => {
    expect(atBuildTime.operations).toEqual(atRunTime.operations);
  });

  it('gives the same verdict as the validators Ajv compiles at run time, on every request of the corpus', () => {
    fc.assert(
      fc.property(fc.constantFrom(...pairs), queryString, fc.string({ maxLength: 20 }), fc.oneof(body, objectBody), ({ operation, precompiled }, query, workspaceId, json) => {
        const input = () => ({ pathParams: { workspaceId }, query: new URLSearchParams(query), body: json === undefined ? undefined : { bytes: new TextEncoder().encode(JSON.stringify(json)), contentType: 'application/json' } });
        expect(atBuildTime.validateRequest(precompiled, input())).toEqual(atRunTime.validateRequest(operation, input()));
      }),
      CORPUS,
    );
  });

  it('finds the same errors in responses', () => {
    fc.assert(
      fc.property(fc.constantFrom(...pairs), fc.constantFrom(200, 400, 401, 403, 404, 429, 500, 503), responseBody, ({ operation }, status, json) => {
        expect(atBuildTime.validateResponse(operation.operationId, status, json)).toEqual(atRunTime.validateResponse(operation.operationId, status, json));
      }),
      CORPUS,
    );
  });

  it("checks OpenAPI's int32 and int64 formats at the same bounds (the formats as code, and as functions)", () => {
    // The generated modules carry the formats as source; evaluated here (a test may), they must agree.
    const asCode = new Function(`return ${OPENAPI_FORMATS_SOURCE}`)() as typeof OPENAPI_FORMATS;
    const samples = [0, 1, -1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 53, -(2 ** 53), 2 ** 63, -(2 ** 63), 2 ** 64, -(2 ** 64), 1.5];
    for (const format of ['int32', 'int64'] as const) {
      for (const n of samples) expect(asCode[format].validate(n), `${format} ${n}`).toBe(OPENAPI_FORMATS[format].validate(n));
    }
    fc.assert(fc.property(fc.double({ noNaN: true }), (n) => asCode.int32.validate(n) === OPENAPI_FORMATS.int32.validate(n) && asCode.int64.validate(n) === OPENAPI_FORMATS.int64.validate(n)), CORPUS);
  });
});
