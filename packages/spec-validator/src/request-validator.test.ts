import { loadDingTalkSpec } from '@dingtalk-gateway/spec/dingtalk-spec';
import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it, vi } from 'vitest';
import { createSpecValidator, type RequestBody, type RequestInput, type RequestValidation } from './index.js';

const validator = createSpecValidator(loadGatewayContract());
const OPERATOR = 'tXguN309iPhE4roSKPlLURAiEiE';

/** A JSON body as a client sends it; `undefined` for none. */
const json = (value: unknown, contentType = 'application/json'): RequestBody | undefined =>
  value === undefined ? undefined : { bytes: new TextEncoder().encode(JSON.stringify(value)), contentType };

const request = (operationId: string, input: Omit<RequestInput, 'query' | 'body'> & { query?: string; body?: unknown } = {}): RequestValidation =>
  validator.validateRequest(validator.operation(operationId)!, { ...input, query: new URLSearchParams(input.query ?? ''), body: json(input.body) });

const listWorkspaces = (query: string) => request('listWorkspaces', { query });
const getWorkspace = (query: string, workspaceId = 'MJ0pDSKMV9dO20E4') => request('getWorkspace', { query, pathParams: { workspaceId } });
const createDoc = (body: unknown) => request('createWorkspaceDoc', { pathParams: { workspaceId: 'MJ0pDSKMV9dO20E4' }, body });
const addWorkspace = (body: unknown, query = `operatorId=${OPERATOR}`) => request('addWorkspace', { query, body });
const addSpace = (body: unknown) => request('addSpace', { body });

/** A refusal with DingTalk's status (400 for every input of these operations) and code. */
const error = (code: string, field: string, message: string) => ({ ok: false, status: 400, code, field, message });

describe('query parameters', () => {
  it('requires operatorId, and counts it missing when sent empty', () => {
    expect(listWorkspaces('')).toEqual(error('paramError', 'query.operatorId', "query parameter 'operatorId' is required"));
    expect(getWorkspace('withPermissionRole=true')).toEqual(error('paramError', 'query.operatorId', "query parameter 'operatorId' is required"));
    expect(addWorkspace({ name: 'x' }, '')).toEqual(error('paramError', 'query.operatorId', "query parameter 'operatorId' is required"));
    expect(listWorkspaces('operatorId=')).toEqual(error('paramError', 'query.operatorId', "query parameter 'operatorId' is required"));
  });

  it('applies defaults and coerces values by the parameter schema', () => {
    expect(listWorkspaces(`operatorId=${OPERATOR}`)).toEqual({ ok: true, query: { operatorId: OPERATOR, maxResults: 30, withPermissionRole: false }, body: undefined });
    expect(listWorkspaces(`operatorId=${OPERATOR}&maxResults=10&withPermissionRole=true&orderBy=VIEW_TIME_DESC&nextToken=abc&teamId=t`)).toEqual({
      ok: true,
      query: { operatorId: OPERATOR, maxResults: 10, withPermissionRole: true, orderBy: 'VIEW_TIME_DESC', nextToken: 'abc', teamId: 't' },
      body: undefined,
    });
    expect(getWorkspace(`operatorId=${OPERATOR}&withPermissionRole=false`)).toEqual({ ok: true, query: { operatorId: OPERATOR, withPermissionRole: false }, body: undefined });
  });

  it('takes an optional parameter sent empty as not sent (its default applies)', () => {
    expect(listWorkspaces(`operatorId=${OPERATOR}&maxResults=&orderBy=&withPermissionRole=&teamId=&nextToken=`)).toEqual({
      ok: true,
      query: { operatorId: OPERATOR, maxResults: 30, withPermissionRole: false },
      body: undefined,
    });
  });

  it('bounds maxResults to 1..30 (paramError, as the page says for over 30)', () => {
    const maxResults = (value: string) => listWorkspaces(`operatorId=${OPERATOR}&maxResults=${value}`);
    expect(maxResults('1')).toMatchObject({ ok: true, query: { maxResults: 1 } });
    expect(maxResults('30')).toMatchObject({ ok: true, query: { maxResults: 30 } });
    expect(maxResults('31')).toEqual(error('paramError', 'query.maxResults', "query parameter 'maxResults' must be <= 30"));
    expect(maxResults('0')).toEqual(error('paramError', 'query.maxResults', "query parameter 'maxResults' must be >= 1"));
    expect(maxResults('-5')).toEqual(error('paramError', 'query.maxResults', "query parameter 'maxResults' must be >= 1"));
    for (const bad of ['abc', '1.5', ' 3', '3 ', '0x10', '1e1', '+3', 'NaN', 'Infinity', '9'.repeat(400)]) {
      expect(maxResults(encodeURIComponent(bad)), bad).toEqual(error('paramError', 'query.maxResults', "query parameter 'maxResults' must be an integer"));
    }
  });

  it('checks orderBy against its enum, with its own code paramError.orderBy', () => {
    expect(listWorkspaces(`operatorId=${OPERATOR}&orderBy=NAME`)).toEqual(
      error('paramError.orderBy', 'query.orderBy', "query parameter 'orderBy' must be one of VIEW_TIME_DESC, CREATE_TIME_DESC, MODIFIED_TIME_DESC"),
    );
    expect(listWorkspaces(`operatorId=${OPERATOR}&orderBy=view_time_desc`)).toMatchObject({ ok: false, code: 'paramError.orderBy', field: 'query.orderBy' });
    expect(listWorkspaces(`operatorId=${OPERATOR}&orderBy=NAME&orderBy=VIEW_TIME_DESC`)).toMatchObject({ ok: false, code: 'paramError.orderBy' });
  });

  it('accepts only true and false for withPermissionRole', () => {
    for (const bad of ['yes', '1', 'TRUE', ' true']) {
      expect(getWorkspace(`operatorId=${OPERATOR}&withPermissionRole=${encodeURIComponent(bad)}`), bad).toEqual(
        error('paramError', 'query.withPermissionRole', "query parameter 'withPermissionRole' must be a boolean"),
      );
    }
  });

  it('refuses a repeated parameter, naming it', () => {
    expect(listWorkspaces(`operatorId=${OPERATOR}&maxResults=1&maxResults=2`)).toEqual(error('paramError', 'query.maxResults', "query parameter 'maxResults' must not be repeated"));
    expect(listWorkspaces(`operatorId=a&operatorId=b`)).toEqual(error('paramError', 'query.operatorId', "query parameter 'operatorId' must not be repeated"));
    expect(listWorkspaces(`operatorId=a&operatorId=`)).toEqual(error('paramError', 'query.operatorId', "query parameter 'operatorId' must not be repeated"));
  });

  it('ignores undeclared parameters by default and leaves them out of the result', () => {
    expect(getWorkspace(`operatorId=${OPERATOR}&_=123&x=1&x=2`)).toEqual({ ok: true, query: { operatorId: OPERATOR, withPermissionRole: false }, body: undefined });
  });

  it('refuses undeclared parameters with unknownQueryParameters: reject', () => {
    const strict = createSpecValidator(loadGatewayContract(), { unknownQueryParameters: 'reject' });
    const input = (query: string) => ({ pathParams: { workspaceId: 'w' }, query: new URLSearchParams(query) });
    expect(strict.validateRequest(strict.operation('getWorkspace')!, input(`operatorId=${OPERATOR}&_=123`))).toEqual(
      error('paramError', 'query._', "query parameter '_' is not allowed"),
    );
    expect(strict.validateRequest(strict.operation('getWorkspace')!, input(`operatorId=${OPERATOR}`))).toMatchObject({ ok: true });
  });

  it('treats an absent query like an empty one', () => {
    expect(validator.validateRequest(validator.operation('listWorkspaces')!, {})).toEqual(
      error('paramError', 'query.operatorId', "query parameter 'operatorId' is required"),
    );
  });
});

describe('path parameters', () => {
  it('must be present and non-empty', () => {
    expect(getWorkspace(`operatorId=${OPERATOR}`, '')).toEqual(error('paramError', 'path.workspaceId', "path parameter 'workspaceId' must not be empty"));
    expect(request('getWorkspace', { query: `operatorId=${OPERATOR}` })).toEqual(error('paramError', 'path.workspaceId', "path parameter 'workspaceId' is required"));
    expect(createDoc({ name: 'n', docType: 'DOC', operatorId: OPERATOR })).toEqual({ ok: true, query: {}, body: { name: 'n', docType: 'DOC', operatorId: OPERATOR } });
  });

  it('are checked before the query and the body, with the operation\'s code', () => {
    expect(request('createWorkspaceDoc', { pathParams: { workspaceId: '' } })).toMatchObject({ field: 'path.workspaceId', code: 'invalidRequest.inputArgs.invalid' });
  });
});

describe('request bodies', () => {
  const doc = { name: 'Weekly report', docType: 'DOC', operatorId: OPERATOR };
  const INPUT_ARGS = 'invalidRequest.inputArgs.invalid';

  it('requires the body where the spec does, with the code of the body as a whole', () => {
    expect(createDoc(undefined)).toEqual(error(INPUT_ARGS, 'body', 'body is required'));
    expect(addWorkspace(undefined)).toEqual(error('paramError', 'body', 'body is required'));
    expect(addSpace(undefined)).toEqual(error('param.error', 'body', 'body is required'));
    const empty = { bytes: new Uint8Array(), contentType: 'application/json' };
    expect(validator.validateRequest(validator.operation('addSpace')!, { body: empty })).toEqual(error('param.error', 'body', 'body is required'));
  });

  it('refuses a body on an operation that takes none', () => {
    expect(getWorkspace(`operatorId=${OPERATOR}`)).toMatchObject({ ok: true });
    expect(request('getWorkspace', { pathParams: { workspaceId: 'w' }, query: `operatorId=${OPERATOR}`, body: {} })).toEqual(
      error('paramError', 'body', 'body is not allowed: this operation takes no body'),
    );
  });

  it('names missing required properties, each with its field\'s code', () => {
    expect(createDoc({ docType: 'DOC', operatorId: OPERATOR })).toEqual(error(INPUT_ARGS, 'body.name', "body must have required property 'name'"));
    expect(createDoc({ name: 'n', operatorId: OPERATOR })).toEqual(error(INPUT_ARGS, 'body.docType', "body must have required property 'docType'"));
    expect(createDoc({ name: 'n', docType: 'DOC' })).toEqual(error(INPUT_ARGS, 'body.operatorId', "body must have required property 'operatorId'"));
    expect(addWorkspace({})).toEqual(error('paramError.name', 'body.name', "body must have required property 'name'"));
    expect(addSpace({ name: 'space' })).toEqual(error('param.error', 'body.unionId', "body must have required property 'unionId'"));
    expect(addSpace({ unionId: 'u' })).toEqual(error('param.error', 'body.name', "body must have required property 'name'"));
  });

  it('checks docType and templateType against their enums', () => {
    expect(createDoc({ ...doc, docType: 'PDF' })).toEqual(error(INPUT_ARGS, 'body.docType', "body property 'docType' must be one of DOC, WORKBOOK, MIND, FOLDER"));
    expect(createDoc({ ...doc, templateType: 'mine' })).toEqual(
      error(INPUT_ARGS, 'body.templateType', "body property 'templateType' must be one of public_template, team_template, user_template"),
    );
    for (const docType of ['DOC', 'WORKBOOK', 'MIND', 'FOLDER']) expect(createDoc({ ...doc, docType })).toMatchObject({ ok: true });
  });

  it('checks minLength; a refused value gets the field\'s valueCode (AddSpace name.invalid)', () => {
    expect(addSpace({ name: '', unionId: 'u' })).toEqual(error('name.invalid', 'body.name', "body property 'name' must not be empty"));
    expect(addSpace({ name: 's', unionId: '' })).toEqual(error('param.error', 'body.unionId', "body property 'unionId' must not be empty"));
    expect(addWorkspace({ name: '' })).toEqual(error('paramError.name', 'body.name', "body property 'name' must not be empty"));
    expect(createDoc({ ...doc, operatorId: '' })).toEqual(error(INPUT_ARGS, 'body.operatorId', "body property 'operatorId' must not be empty"));
  });

  it('names nested properties with dots, each with the nearest rule', () => {
    expect(addWorkspace({ name: 'n', option: { teamId: 5 } })).toEqual(error('paramError', 'body.option.teamId', "body property 'option.teamId' must be a string"));
    expect(addWorkspace({ name: 'n', option: { description: 5 } })).toEqual(
      error('paramError.description', 'body.option.description', "body property 'option.description' must be a string"),
    );
    expect(addWorkspace({ name: 'n', option: 'team' })).toEqual(error('paramError', 'body.option', "body property 'option' must be an object"));
  });

  it('refuses malformed types; a wrong type is not a refused value (AddSpace name: param.error)', () => {
    for (const body of [null, [], 'text', 42, true]) {
      expect(createDoc(body), JSON.stringify(body)).toEqual(error(INPUT_ARGS, 'body', 'body must be an object'));
    }
    expect(createDoc({ ...doc, name: 1 })).toEqual(error(INPUT_ARGS, 'body.name', "body property 'name' must be a string"));
    expect(addSpace({ name: ['a'], unionId: 'u' })).toEqual(error('param.error', 'body.name', "body property 'name' must be a string"));
    expect(addSpace({ name: null, unionId: 'u' })).toEqual(error('param.error', 'body.name', "body property 'name' must be a string"));
  });

  it('allows properties the schema does not list, and returns the body as parsed', () => {
    const body = { ...doc, extra: { anything: [1, 2] } };
    expect(createDoc(body)).toEqual({ ok: true, query: {}, body });
  });

  it('reads the body only when it is declared as JSON and not encoded', () => {
    const bytes = new TextEncoder().encode(JSON.stringify(doc));
    const withHeaders = (contentType: string | undefined, contentEncoding?: string) =>
      validator.validateRequest(validator.operation('createWorkspaceDoc')!, { pathParams: { workspaceId: 'w' }, body: { bytes, contentType, contentEncoding } });
    for (const contentType of ['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8', 'application/vnd.dingtalk+json']) {
      expect(withHeaders(contentType), contentType).toMatchObject({ ok: true, body: doc });
    }
    expect(withHeaders('application/json', 'identity')).toMatchObject({ ok: true });
    for (const contentType of ['text/plain', 'text/json', 'application/x-json', 'application/jsonx', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      expect(withHeaders(contentType), contentType).toEqual(
        error(INPUT_ARGS, 'body', `request body must be declared as JSON (content-type application/json); not ${contentType}`),
      );
    }
    expect(withHeaders(undefined)).toEqual(error(INPUT_ARGS, 'body', 'request body must be declared as JSON (content-type application/json); none was sent'));
    expect(withHeaders('application/json', 'gzip')).toEqual(error(INPUT_ARGS, 'body', 'request body must not be encoded (content-encoding gzip)'));
  });

  it.each([
    ['a lone continuation byte', [0x7b, 0x22, 0x80, 0x22, 0x7d]],
    ['0xff', [0x7b, 0x22, 0xff, 0x22, 0x7d]],
    ['an overlong encoding of "/"', [0x22, 0xc0, 0xaf, 0x22]],
    ['an encoded surrogate', [0x22, 0xed, 0xa0, 0x80, 0x22]],
    ['a truncated sequence', [0x22, 0xe2, 0x82]],
  ])('refuses a body with %s as not UTF-8 (never decoded with replacement characters)', (_what, bytes) => {
    expect(validator.validateRequest(validator.operation('addSpace')!, { body: { bytes: new Uint8Array(bytes), contentType: 'application/json' } })).toEqual(
      error('param.error', 'body', 'request body is not valid UTF-8'),
    );
  });

  it.each(['{"name": ', '{name: "x"}', "{'name':'x'}", '{"a":1,}', 'undefined', 'NaN', '{"a":1} {"b":2}'])('refuses the malformed JSON %j', (text) => {
    const result = validator.validateRequest(validator.operation('addSpace')!, { body: { bytes: new TextEncoder().encode(text), contentType: 'application/json' } });
    expect(result).toMatchObject({ ok: false, status: 400, code: 'param.error', field: 'body', message: expect.stringMatching(/^request body is not valid JSON: .+/) });
  });

  it('refuses a key written twice in one object (another parser could read the other value)', () => {
    const raw = (text: string) => validator.validateRequest(validator.operation('addSpace')!, { body: { bytes: new TextEncoder().encode(text), contentType: 'application/json' } });
    expect(raw('{"name":"","name":"ok","unionId":"u-1"}')).toEqual(error('param.error', 'body', "request body has the key 'name' twice in one object"));
    expect(raw('{"name":"n","unionId":"u-1","option":{"a":1,"a":2}}')).toEqual(error('param.error', 'body', "request body has the key 'a' twice in one object"));
  });
});

describe('refuse', () => {
  it('answers a rule no schema states with the field\'s code, or the operation\'s', () => {
    const addSpaceOp = validator.operation('addSpace')!;
    expect(validator.refuse(addSpaceOp, 'body.name', 'value', 'Space name is invalid.')).toEqual(error('name.invalid', 'body.name', 'Space name is invalid.'));
    expect(validator.refuse(addSpaceOp, 'body.unionId', 'value', 'unknown user')).toEqual(error('param.error', 'body.unionId', 'unknown user'));
    const addWorkspaceOp = validator.operation('addWorkspace')!;
    expect(validator.refuse(addWorkspaceOp, 'body.option.teamId', 'value', 'no such team')).toMatchObject({ code: 'paramError' });
    expect(validator.refuse(addWorkspaceOp, 'body.option.description', 'value', 'too long')).toMatchObject({ code: 'paramError.description' });
    expect(validator.refuse(validator.operation('listWorkspaces')!, 'query.nextToken', 'value', 'stale')).toMatchObject({ code: 'paramError' });
  });
});

describe('the DingTalk document', () => {
  const dingtalk = createSpecValidator(loadDingTalkSpec());
  const getAccessToken = dingtalk.operation('getAccessToken')!;
  const getCorpAccessToken = dingtalk.operation('getCorpAccessToken')!;

  it('validates the token endpoints, which have neither path nor query parameters', () => {
    expect(dingtalk.validateRequest(getAccessToken, { body: json({ appKey: 'k', appSecret: 's' }) })).toEqual({ ok: true, query: {}, body: { appKey: 'k', appSecret: 's' } });
    expect(dingtalk.validateRequest(getAccessToken, { body: json({ appKey: 'k' }) })).toEqual(
      error('invalidClientIdOrSecret', 'body.appSecret', "body must have required property 'appSecret'"),
    );
    expect(dingtalk.validateRequest(getAccessToken, { body: json({ appKey: '', appSecret: 's' }) })).toEqual(
      error('invalidClientIdOrSecret', 'body.appKey', "body property 'appKey' must not be empty"),
    );
  });

  it('answers a body that cannot be read Missingbody, and each corp credential with its own code', () => {
    expect(dingtalk.validateRequest(getAccessToken, { body: json({ appKey: 'k', appSecret: 's' }, 'application/x-www-form-urlencoded') })).toMatchObject({ code: 'Missingbody' });
    expect(dingtalk.validateRequest(getAccessToken, {})).toMatchObject({ code: 'Missingbody' });
    expect(dingtalk.validateRequest(getAccessToken, { body: json(['appKey']) })).toMatchObject({ code: 'Missingbody' });
    const corp = { suiteKey: 'k', suiteSecret: 's', authCorpId: 'c', suiteTicket: 't' };
    const without = (key: keyof typeof corp) => dingtalk.validateRequest(getCorpAccessToken, { body: json({ ...corp, [key]: '' }) });
    expect([without('suiteKey'), without('suiteSecret'), without('authCorpId'), without('suiteTicket')].map((r) => !r.ok && r.code)).toEqual([
      'invalidSuiteKey',
      'invalidSuiteKey',
      'invalidAuthInfo',
      'invalidSuiteTicket',
    ]);
  });
});

describe('the hot path', () => {
  it('compiles nothing after construction', () => {
    const built = createSpecValidator(loadGatewayContract());
    const compile = vi.spyOn(Ajv2020.prototype, 'compile');
    try {
      const list = built.operation('listWorkspaces')!;
      const create = built.operation('createWorkspaceDoc')!;
      for (let i = 0; i < 100; i++) {
        built.match('GET', `/v2.0/wiki/workspaces/ws${i}`);
        built.validateRequest(list, { query: new URLSearchParams(`operatorId=${OPERATOR}&maxResults=${i}`) });
        built.validateRequest(create, { pathParams: { workspaceId: `ws${i}` }, body: json({ name: i }) });
        built.validateResponse('getWorkspace', 400, { code: `c${i}` });
      }
      expect(compile).not.toHaveBeenCalled();
      // The spy does see compilation: building a validator compiles.
      createSpecValidator(loadGatewayContract());
      expect(compile).toHaveBeenCalled();
    } finally {
      compile.mockRestore();
    }
  });

  it('returns the same frozen object for a missing required parameter', () => {
    const first = listWorkspaces('');
    expect(listWorkspaces('maxResults=3')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });
});
