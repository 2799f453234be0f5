import { loadDingTalkSpec, loadGatewayContract } from '@dingtalk-gateway/spec';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it, vi } from 'vitest';
import { createSpecValidator, type RequestInput, type RequestValidation } from './index.js';

const validator = createSpecValidator(loadGatewayContract());
const OPERATOR = 'tXguN309iPhE4roSKPlLURAiEiE';

const request = (operationId: string, input: Omit<RequestInput, 'query'> & { query?: string } = {}): RequestValidation =>
  validator.validateRequest(validator.operation(operationId)!, { ...input, query: new URLSearchParams(input.query ?? '') });

const listWorkspaces = (query: string) => request('listWorkspaces', { query });
const getWorkspace = (query: string, workspaceId = 'MJ0pDSKMV9dO20E4') => request('getWorkspace', { query, pathParams: { workspaceId } });
const createDoc = (body: unknown) => request('createWorkspaceDoc', { pathParams: { workspaceId: 'MJ0pDSKMV9dO20E4' }, body });
const addWorkspace = (body: unknown, query = `operatorId=${OPERATOR}`) => request('addWorkspace', { query, body });
const addSpace = (body: unknown) => request('addSpace', { body });

const error = (field: string, message: string) => ({ ok: false, field, message });

describe('query parameters', () => {
  it('requires operatorId', () => {
    expect(listWorkspaces('')).toEqual(error('query.operatorId', "query parameter 'operatorId' is required"));
    expect(getWorkspace('withPermissionRole=true')).toEqual(error('query.operatorId', "query parameter 'operatorId' is required"));
    expect(addWorkspace({ name: 'x' }, '')).toEqual(error('query.operatorId', "query parameter 'operatorId' is required"));
    expect(listWorkspaces('operatorId=')).toEqual(error('query.operatorId', "query parameter 'operatorId' must not be empty"));
  });

  it('applies defaults and coerces values by the parameter schema', () => {
    expect(listWorkspaces(`operatorId=${OPERATOR}`)).toEqual({ ok: true, query: { operatorId: OPERATOR, maxResults: 30, withPermissionRole: false } });
    expect(listWorkspaces(`operatorId=${OPERATOR}&maxResults=10&withPermissionRole=true&orderBy=VIEW_TIME_DESC&nextToken=abc&teamId=t`)).toEqual({
      ok: true,
      query: { operatorId: OPERATOR, maxResults: 10, withPermissionRole: true, orderBy: 'VIEW_TIME_DESC', nextToken: 'abc', teamId: 't' },
    });
    expect(getWorkspace(`operatorId=${OPERATOR}&withPermissionRole=false`)).toEqual({ ok: true, query: { operatorId: OPERATOR, withPermissionRole: false } });
  });

  it('bounds maxResults to 1..30', () => {
    const maxResults = (value: string) => listWorkspaces(`operatorId=${OPERATOR}&maxResults=${value}`);
    expect(maxResults('1')).toMatchObject({ ok: true, query: { maxResults: 1 } });
    expect(maxResults('30')).toMatchObject({ ok: true, query: { maxResults: 30 } });
    expect(maxResults('31')).toEqual(error('query.maxResults', "query parameter 'maxResults' must be <= 30"));
    expect(maxResults('0')).toEqual(error('query.maxResults', "query parameter 'maxResults' must be >= 1"));
    expect(maxResults('-5')).toEqual(error('query.maxResults', "query parameter 'maxResults' must be >= 1"));
    for (const bad of ['abc', '1.5', '', ' 3', '3 ', '0x10', '1e1', '+3', 'NaN', 'Infinity', '9'.repeat(400)]) {
      expect(maxResults(encodeURIComponent(bad)), bad).toEqual(error('query.maxResults', "query parameter 'maxResults' must be an integer"));
    }
  });

  it('checks orderBy against its enum', () => {
    expect(listWorkspaces(`operatorId=${OPERATOR}&orderBy=NAME`)).toEqual(
      error('query.orderBy', "query parameter 'orderBy' must be one of VIEW_TIME_DESC, CREATE_TIME_DESC, MODIFIED_TIME_DESC"),
    );
    expect(listWorkspaces(`operatorId=${OPERATOR}&orderBy=view_time_desc`)).toMatchObject({ ok: false, field: 'query.orderBy' });
  });

  it('accepts only true and false for withPermissionRole', () => {
    for (const bad of ['yes', '1', 'TRUE', '']) {
      expect(getWorkspace(`operatorId=${OPERATOR}&withPermissionRole=${bad}`), bad).toEqual(
        error('query.withPermissionRole', "query parameter 'withPermissionRole' must be a boolean"),
      );
    }
  });

  it('refuses a repeated parameter, naming it', () => {
    expect(listWorkspaces(`operatorId=${OPERATOR}&maxResults=1&maxResults=2`)).toEqual(error('query.maxResults', "query parameter 'maxResults' must not be repeated"));
    expect(listWorkspaces(`operatorId=a&operatorId=b`)).toEqual(error('query.operatorId', "query parameter 'operatorId' must not be repeated"));
  });

  it('ignores undeclared parameters by default and leaves them out of the result', () => {
    expect(getWorkspace(`operatorId=${OPERATOR}&_=123&x=1&x=2`)).toEqual({ ok: true, query: { operatorId: OPERATOR, withPermissionRole: false } });
  });

  it('refuses undeclared parameters with unknownQueryParameters: reject', () => {
    const strict = createSpecValidator(loadGatewayContract(), { unknownQueryParameters: 'reject' });
    const input = (query: string) => ({ pathParams: { workspaceId: 'w' }, query: new URLSearchParams(query) });
    expect(strict.validateRequest(strict.operation('getWorkspace')!, input(`operatorId=${OPERATOR}&_=123`))).toEqual(
      error('query._', "query parameter '_' is not allowed"),
    );
    expect(strict.validateRequest(strict.operation('getWorkspace')!, input(`operatorId=${OPERATOR}`))).toMatchObject({ ok: true });
  });

  it('treats an absent query like an empty one', () => {
    expect(validator.validateRequest(validator.operation('listWorkspaces')!, {})).toEqual(
      error('query.operatorId', "query parameter 'operatorId' is required"),
    );
  });
});

describe('path parameters', () => {
  it('must be present and non-empty', () => {
    expect(getWorkspace(`operatorId=${OPERATOR}`, '')).toEqual(error('path.workspaceId', "path parameter 'workspaceId' must not be empty"));
    expect(request('getWorkspace', { query: `operatorId=${OPERATOR}` })).toEqual(error('path.workspaceId', "path parameter 'workspaceId' is required"));
    expect(createDoc({ name: 'n', docType: 'DOC', operatorId: OPERATOR })).toEqual({ ok: true, query: {} });
  });

  it('are checked before the query and the body', () => {
    expect(request('createWorkspaceDoc', { pathParams: { workspaceId: '' } })).toMatchObject({ field: 'path.workspaceId' });
  });
});

describe('request bodies', () => {
  const doc = { name: 'Weekly report', docType: 'DOC', operatorId: OPERATOR };

  it('requires the body where the spec does', () => {
    expect(createDoc(undefined)).toEqual(error('body', 'body is required'));
    expect(addWorkspace(undefined)).toEqual(error('body', 'body is required'));
    expect(addSpace(undefined)).toEqual(error('body', 'body is required'));
  });

  it('refuses a body on an operation that takes none', () => {
    expect(getWorkspace(`operatorId=${OPERATOR}`)).toMatchObject({ ok: true });
    expect(request('getWorkspace', { pathParams: { workspaceId: 'w' }, query: `operatorId=${OPERATOR}`, body: {} })).toEqual(
      error('body', 'body is not allowed: this operation takes no body'),
    );
  });

  it('names missing required properties', () => {
    expect(createDoc({ docType: 'DOC', operatorId: OPERATOR })).toEqual(error('body.name', "body must have required property 'name'"));
    expect(createDoc({ name: 'n', operatorId: OPERATOR })).toEqual(error('body.docType', "body must have required property 'docType'"));
    expect(createDoc({ name: 'n', docType: 'DOC' })).toEqual(error('body.operatorId', "body must have required property 'operatorId'"));
    expect(addWorkspace({})).toEqual(error('body.name', "body must have required property 'name'"));
    expect(addSpace({ name: 'space' })).toEqual(error('body.unionId', "body must have required property 'unionId'"));
  });

  it('checks docType and templateType against their enums', () => {
    expect(createDoc({ ...doc, docType: 'PDF' })).toEqual(error('body.docType', "body property 'docType' must be one of DOC, WORKBOOK, MIND, FOLDER"));
    expect(createDoc({ ...doc, templateType: 'mine' })).toEqual(
      error('body.templateType', "body property 'templateType' must be one of public_template, team_template, user_template"),
    );
    for (const docType of ['DOC', 'WORKBOOK', 'MIND', 'FOLDER']) expect(createDoc({ ...doc, docType })).toMatchObject({ ok: true });
  });

  it('checks minLength', () => {
    expect(addSpace({ name: '', unionId: 'u' })).toEqual(error('body.name', "body property 'name' must not be empty"));
    expect(addSpace({ name: 's', unionId: '' })).toEqual(error('body.unionId', "body property 'unionId' must not be empty"));
    expect(addWorkspace({ name: '' })).toEqual(error('body.name', "body property 'name' must not be empty"));
    expect(createDoc({ ...doc, operatorId: '' })).toEqual(error('body.operatorId', "body property 'operatorId' must not be empty"));
  });

  it('names nested properties with dots', () => {
    expect(addWorkspace({ name: 'n', option: { teamId: 5 } })).toEqual(error('body.option.teamId', "body property 'option.teamId' must be a string"));
    expect(addWorkspace({ name: 'n', option: 'team' })).toEqual(error('body.option', "body property 'option' must be an object"));
  });

  it('refuses malformed types', () => {
    for (const body of [null, [], 'text', 42, true]) {
      expect(createDoc(body), JSON.stringify(body)).toEqual(error('body', 'body must be an object'));
    }
    expect(createDoc({ ...doc, name: 1 })).toEqual(error('body.name', "body property 'name' must be a string"));
    expect(addSpace({ name: ['a'], unionId: 'u' })).toEqual(error('body.name', "body property 'name' must be a string"));
  });

  it('allows properties the schema does not list, and never changes the body', () => {
    const body = { ...doc, extra: { anything: [1, 2] } };
    const before = structuredClone(body);
    expect(createDoc(body)).toEqual({ ok: true, query: {} });
    expect(body).toEqual(before);
  });
});

describe('the DingTalk document', () => {
  const dingtalk = createSpecValidator(loadDingTalkSpec());
  const getAccessToken = dingtalk.operation('getAccessToken')!;

  it('validates the token endpoints, which have neither path nor query parameters', () => {
    expect(dingtalk.validateRequest(getAccessToken, { body: { appKey: 'k', appSecret: 's' } })).toEqual({ ok: true, query: {} });
    expect(dingtalk.validateRequest(getAccessToken, { body: { appKey: 'k' } })).toEqual(error('body.appSecret', "body must have required property 'appSecret'"));
    expect(dingtalk.validateRequest(getAccessToken, { body: { appKey: '', appSecret: 's' } })).toEqual(
      error('body.appKey', "body property 'appKey' must not be empty"),
    );
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
        built.validateRequest(create, { pathParams: { workspaceId: `ws${i}` }, body: { name: i } });
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
