/**
 * OpenAPI features the DingTalk spec does not use (yet), on small documents made here, so the
 * validator's behaviour is pinned before the spec needs it.
 */
import type { JsonObject, OpenApiDocument } from '@dingtalk-gateway/spec';
import { describe, expect, it } from 'vitest';
import { createSpecValidator } from './index.js';

const ok = { '200': { description: 'ok' } };
const BAD_INPUT = { description: 'bad input', content: { 'application/json': { schema: { properties: { code: { enum: ['bad'] } } } } } };

/** A document of these paths; every operation answers bad input `400 bad` and is metered, as the validator requires it to say. */
const documentWith = (paths: JsonObject, schemas: JsonObject = {}): OpenApiDocument => {
  const withRules = structuredClone(paths) as Record<string, Record<string, JsonObject>>;
  for (const item of Object.values(withRules)) {
    for (const [method, operation] of Object.entries(item)) {
      if (method === 'parameters') continue;
      operation['x-dingtalk-invalid-input'] ??= { status: 400, code: 'bad' };
      operation['x-dingtalk-metered'] ??= true;
      operation.responses = { '400': BAD_INPUT, ...(operation.responses as JsonObject) };
    }
  }
  return { openapi: '3.1.0', info: { title: 't', version: '1' }, 'x-dingtalk-metering': { notCounted: [] }, paths: withRules, components: { schemas } } as OpenApiDocument;
};

/** A request body as sent with `Content-Type: application/json`. */
const json = (value: unknown) => ({ bytes: new TextEncoder().encode(JSON.stringify(value)), contentType: 'application/json' });
const refused = (field: string, message: string) => ({ ok: false, status: 400, code: 'bad', field, message });

describe('parameters', () => {
  const doc = documentWith({
    '/items/{itemId}': {
      parameters: [
        { name: 'itemId', in: 'path', required: true, schema: { type: 'integer', format: 'int32', minimum: 0 } },
        { name: 'ratio', in: 'query', schema: { type: 'number', exclusiveMaximum: 1 } },
      ],
      get: {
        operationId: 'getItem',
        'x-internal-note': 'extensions on operations are fine',
        parameters: [{ name: 'ratio', in: 'query', required: true, schema: { type: 'number' } }],
        responses: ok,
      },
      put: { operationId: 'putItem', responses: ok },
    },
  });
  const validator = createSpecValidator(doc);
  const validate = (operationId: string, itemId: string, query: string) =>
    validator.validateRequest(validator.operation(operationId)!, { pathParams: { itemId }, query: new URLSearchParams(query) });

  it('coerces path parameters and checks int32 as a range', () => {
    expect(validate('putItem', '7', '')).toEqual({ ok: true, query: {}, body: undefined });
    expect(validate('putItem', '-1', '')).toEqual(refused('path.itemId', "path parameter 'itemId' must be >= 0"));
    expect(validate('putItem', String(2 ** 31), '')).toEqual(refused('path.itemId', "path parameter 'itemId' must be a 32-bit integer"));
    expect(validate('putItem', 'seven', '')).toEqual(refused('path.itemId', "path parameter 'itemId' must be an integer"));
  });

  it('lets operation parameters override path-item parameters of the same name', () => {
    expect(validate('getItem', '1', '')).toEqual(refused('query.ratio', "query parameter 'ratio' is required"));
    expect(validate('getItem', '1', 'ratio=1.5')).toEqual({ ok: true, query: { ratio: 1.5 }, body: undefined });
    expect(validate('putItem', '1', 'ratio=1.5')).toEqual(refused('query.ratio', "query parameter 'ratio' must be < 1"));
    expect(validate('putItem', '1', 'ratio=.5e-1')).toEqual({ ok: true, query: { ratio: 0.05 }, body: undefined });
    expect(validate('putItem', '1', 'ratio=half')).toEqual(refused('query.ratio', "query parameter 'ratio' must be a number"));
  });

  it.each([
    ['a cookie parameter', { name: 'session', in: 'cookie', schema: { type: 'string' } }, /cookie parameter 'session' is not supported/],
    ['an array parameter', { name: 'ids', in: 'query', schema: { type: 'array', items: { type: 'string' } } }, /query parameter 'ids' must have a string, integer/],
    ['a content-typed parameter', { name: 'filter', in: 'query', content: { 'application/json': {} } }, /has no schema/],
    ['an optional path parameter', { name: 'id', in: 'path', required: false, schema: { type: 'string' } }, /must be required/],
  ])('refuses %s at construction', (_name, parameter, message) => {
    const path = parameter.in === 'path' ? '/things/{id}' : '/things';
    expect(() => createSpecValidator(documentWith({ [path]: { get: { operationId: 'op', parameters: [parameter], responses: ok } } }))).toThrow(message);
  });

  it("leaves header parameters to the gateway's own steps: declared, not checked here", () => {
    const doc = documentWith({ '/things': { get: { operationId: 'op', parameters: [{ name: 'Cache-Control', in: 'header', schema: { type: 'string', maxLength: 3 } }], responses: ok } } });
    const validator = createSpecValidator(doc);
    expect(validator.validateRequest(validator.operation('op')!, { query: new URLSearchParams('') })).toMatchObject({ ok: true });
  });

  it('refuses a template parameter that is not declared', () => {
    expect(() => createSpecValidator(documentWith({ '/things/{id}': { get: { operationId: 'op', responses: ok } } }))).toThrow(/are not the declared path parameters/);
  });
});

describe('schemas', () => {
  const body = (schema: JsonObject) => ({ requestBody: { content: { 'application/json': { schema } } }, responses: ok });

  it('keeps strict mode for typos but knows OpenAPI annotations and extensions', () => {
    const annotated = { type: 'object', example: { a: 1 }, 'x-go-name': 'Thing', externalDocs: { url: 'https://example.com' }, properties: { a: { type: 'integer' } } };
    expect(() => createSpecValidator(documentWith({ '/t': { post: { operationId: 'op', ...body(annotated) } } }))).not.toThrow();
    expect(() => createSpecValidator(documentWith({ '/t': { post: { operationId: 'op', ...body({ type: 'string', minLenght: 1 }) } } }))).toThrow(/unknown keyword: "minLenght"/);
    expect(() => createSpecValidator(documentWith({ '/t': { post: { operationId: 'op', ...body({ type: 'string', format: 'date-time' }) } } }))).toThrow(/unknown format "date-time"/);
  });

  it('names array items, additional properties and nested requirements', () => {
    const validator = createSpecValidator(
      documentWith(
        { '/orders': { post: { operationId: 'createOrder', ...body({ $ref: '#/components/schemas/Order' }) } } },
        {
          Order: {
            type: 'object',
            additionalProperties: false,
            properties: {
              lines: { type: 'array', minItems: 1, items: { $ref: '#/components/schemas/Line' } },
              'a/b': { type: 'string', maxLength: 2 },
            },
          },
          Line: { type: 'object', required: ['sku'], properties: { sku: { type: 'string', pattern: '^[A-Z]+$' }, qty: { type: ['integer', 'null'] } } },
        },
      ),
    );
    const check = (value: unknown) => validator.validateRequest(validator.operation('createOrder')!, { body: json(value) });
    expect(check({ lines: [{ sku: 'A' }, { sku: 'b' }] })).toEqual(refused('body.lines[1].sku', "body property 'lines[1].sku' must match the pattern ^[A-Z]+$"));
    expect(check({ lines: [{ sku: 'A' }, {}] })).toEqual(refused('body.lines[1].sku', "body property 'lines[1]' must have required property 'sku'"));
    expect(check({ lines: [{ sku: 'A', qty: 'x' }] })).toEqual(refused('body.lines[0].qty', "body property 'lines[0].qty' must be an integer or null"));
    expect(check({ lines: [] })).toEqual(refused('body.lines', "body property 'lines' must have at least 1 item"));
    expect(check({ lines: [{ sku: 'A' }], other: 1 })).toEqual(refused('body.other', "body must not have property 'other'"));
    expect(check({ lines: [{ sku: 'A' }], 'a/b': 'abc' })).toEqual(refused('body.a/b', "body property 'a/b' must be at most 2 characters long"));
    expect(check({ lines: [{ sku: 'A', qty: null }] })).toEqual({ ok: true, query: {}, body: { lines: [{ sku: 'A', qty: null }] } });
  });

  it('takes an optional body as optional', () => {
    const validator = createSpecValidator(
      documentWith({ '/t': { post: { operationId: 'op', requestBody: { required: false, content: { 'application/json; charset=utf-8': { schema: { type: 'object' } } } }, responses: ok } } }),
    );
    const op = validator.operation('op')!;
    expect(op).toMatchObject({ hasBody: true, bodyRequired: false });
    expect(validator.validateRequest(op, {})).toEqual({ ok: true, query: {}, body: undefined });
    expect(validator.validateRequest(op, { body: json(1) })).toEqual(refused('body', 'body must be an object'));
  });

  it('refuses a request body without a JSON schema', () => {
    const doc = documentWith({ '/t': { post: { operationId: 'op', requestBody: { content: { 'text/plain': { schema: { type: 'string' } } } }, responses: ok } } });
    expect(() => createSpecValidator(doc)).toThrow(/application\/json schema/);
  });
});

describe('responses', () => {
  const error = { type: 'object', required: ['code'], properties: { code: { type: 'string' } } };
  const validator = createSpecValidator(
    documentWith({
      '/t': {
        delete: {
          operationId: 'op',
          responses: {
            '204': { description: 'gone' },
            '404': { description: 'not found', content: { 'application/json': { schema: { ...error, properties: { code: { const: 'notFound' } } } } } },
            '4XX': { description: 'client error', content: { 'application/problem+json': { schema: error } } },
          },
        },
      },
    }),
  );

  it('prefers the exact status, then the range', () => {
    expect(validator.validateResponse('op', 404, { code: 'notFound' })).toEqual({ ok: true });
    expect(validator.validateResponse('op', 404, { code: 'other' })).toEqual({ ok: false, errors: ["response body property 'code' must be notFound"] });
    expect(validator.validateResponse('op', 409, { code: 'other' })).toEqual({ ok: true });
    expect(validator.validateResponse('op', 409, {})).toEqual({ ok: false, errors: ["response body must have required property 'code'"] });
    expect(validator.validateResponse('op', 500, {})).toEqual({ ok: false, errors: ['op declares no response for status 500 and no default'] });
  });

  it('wants no body where none is declared', () => {
    expect(validator.validateResponse('op', 204, undefined)).toEqual({ ok: true });
    expect(validator.validateResponse('op', 204, {})).toEqual({ ok: false, errors: ['op declares no JSON body for status 204, but one was given'] });
  });
});

describe('documents', () => {
  it('refuses an operation without operationId, or an operationId used twice', () => {
    expect(() => createSpecValidator(documentWith({ '/a': { get: { responses: ok } } }))).toThrow(/GET \/a has no operationId/);
    expect(() =>
      createSpecValidator(documentWith({ '/a': { get: { operationId: 'x', responses: ok } }, '/b': { get: { operationId: 'x', responses: ok } } })),
    ).toThrow(/'x' is used twice/);
  });

  it('refuses a $ref that does not resolve', () => {
    const doc = documentWith({ '/a': { get: { operationId: 'a', parameters: [{ $ref: '#/components/parameters/Missing' }], responses: ok } } });
    expect(() => createSpecValidator(doc)).toThrow(/does not resolve/);
  });
});
