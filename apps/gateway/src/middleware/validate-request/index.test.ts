import { loadGatewayContract } from '@dingtalk-gateway/spec';
import { createSpecValidator } from '@dingtalk-gateway/spec-validator';
import { Hono } from 'hono';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GatewayEnv } from '../../context.js';
import { validateRequest } from './index.js';

let validator: ReturnType<typeof createSpecValidator>;
beforeAll(() => {
  validator = createSpecValidator(loadGatewayContract());
});

afterEach(() => {
  // A polluted prototype would leak into every later test: make sure it never survives one.
  delete (Object.prototype as Record<string, unknown>).polluted;
});

const encode = (text: string) => new TextEncoder().encode(text);

function call(operationId: string, init: { query?: string; body?: Uint8Array | string; pathParams?: Record<string, string>; headers?: Record<string, string> } = {}) {
  const downstream = vi.fn();
  const app = new Hono<GatewayEnv>();
  app.use('*', async (c, next) => {
    c.set('requestId', 'r-1');
    c.set('log', {});
    c.set('operation', validator.operation(operationId)!);
    c.set('pathParams', init.pathParams ?? {});
    c.set('rawBody', typeof init.body === 'string' ? encode(init.body) : init.body);
    await next();
    c.header('x-error-code', c.get('log').errorCode ?? '-');
  });
  app.use('*', validateRequest({ validator }));
  app.all('*', (c) => {
    downstream();
    return c.text('through');
  });
  const response = Promise.resolve(app.request(`/x${init.query === undefined ? '' : `?${init.query}`}`, { method: 'POST', headers: init.headers }));
  return { response, downstream };
}

async function expectParamError(pending: ReturnType<typeof call>, message: string | RegExp) {
  const response = await pending.response;
  expect(response.status).toBe(400);
  expect(response.headers.get('x-error-code')).toBe('paramError');
  const body = (await response.json()) as Record<string, unknown>;
  expect(body).toEqual({ code: 'paramError', message: expect.any(String), requestid: 'r-1' });
  if (typeof message === 'string') expect(body.message).toBe(message);
  else expect(body.message).toMatch(message);
  expect(pending.downstream).not.toHaveBeenCalled();
  return body.message as string;
}

async function expectThrough(pending: ReturnType<typeof call>) {
  const response = await pending.response;
  expect(response.status, await response.clone().text()).toBe(200);
  expect(await response.text()).toBe('through');
  expect(pending.downstream).toHaveBeenCalledTimes(1);
}

const validSpace = '{"name":"Team space","unionId":"u-1"}';

describe('validateRequest', () => {
  it('passes a valid request through', async () => {
    await expectThrough(call('addSpace', { body: validSpace }));
    await expectThrough(call('listWorkspaces', { query: 'operatorId=u-1&maxResults=30' }));
    await expectThrough(call('getWorkspace', { query: 'operatorId=u-1', pathParams: { workspaceId: 'ws-1' } }));
  });

  it.each([
    ['a lone continuation byte', [0x7b, 0x22, 0x80, 0x22, 0x7d]],
    ['0xff', [0x7b, 0x22, 0xff, 0x22, 0x7d]],
    ['an overlong encoding of "/"', [0x22, 0xc0, 0xaf, 0x22]],
    ['an encoded surrogate', [0x22, 0xed, 0xa0, 0x80, 0x22]],
    ['a truncated sequence', [0x22, 0xe2, 0x82]],
  ])('answers a body with %s 400 "not valid UTF-8" (never decoded with replacement characters)', async (_what, bytes) => {
    await expectParamError(call('addSpace', { body: new Uint8Array(bytes) }), 'request body is not valid UTF-8');
  });

  it.each(['{"name": ', '{name: "x"}', "{'name':'x'}", '{"a":1,}', 'undefined', 'NaN', '{"a":1} {"b":2}'])('answers the malformed JSON %j with 400 "not valid JSON"', async (text) => {
    await expectParamError(call('addSpace', { body: text }), /^request body is not valid JSON: .+/);
  });

  it('validates the parsed body against the operation schema', async () => {
    await expectParamError(call('addSpace', { body: '{"name":"","unionId":"u-1"}' }), /name/);
    await expectParamError(call('addSpace', { body: '{"unionId":"u-1"}' }), /name/);
    await expectParamError(call('addSpace', { body: '[]' }), /^body /);
    await expectParamError(call('addSpace', { body: '"text"' }), /^body /);
  });

  it("answers a validation failure with the validator's own message", async () => {
    const cases: Array<[string, Parameters<typeof call>[1], RegExp]> = [
      ['addSpace', { body: '{"name":"","unionId":"u-1"}' }, /name/],
      ['addSpace', {}, /body is required/],
      ['listWorkspaces', {}, /operatorId/],
      ['listWorkspaces', { query: 'operatorId=u&maxResults=31' }, /maxResults.*30/],
      ['listWorkspaces', { query: 'operatorId=u&operatorId=v' }, /operatorId/],
      ['listWorkspaces', { query: 'operatorId=u', body: '{}' }, /body is not allowed/],
    ];
    for (const [operationId, init, pattern] of cases) {
      const query = new URLSearchParams(init?.query ?? '');
      const body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
      const expected = validator.validateRequest(validator.operation(operationId)!, { pathParams: init?.pathParams ?? {}, query, body });
      expect(expected.ok).toBe(false);
      const message = await expectParamError(call(operationId, init), pattern);
      expect(message).toBe((expected as { message: string }).message);
    }
  });

  it('reads the query from the URL as sent, percent-decoding it once', async () => {
    await expectThrough(call('listWorkspaces', { query: 'operatorId=a%26b%3Dc' }));
    // A declared parameter written in percent-encoding is still that parameter.
    await expectParamError(call('listWorkspaces', { query: 'operatorId=u&%6DaxResults=31' }), /maxResults/);
    // Undeclared parameters are ignored, as DingTalk ignores them.
    await expectThrough(call('listWorkspaces', { query: 'operatorId=u&_=123' }));
  });

  it('refuses a key written twice in one object (another parser could read the other value)', async () => {
    await expectParamError(call('addSpace', { body: '{"name":"","name":"ok","unionId":"u-1"}' }), /'name' twice/);
    await expectParamError(call('addSpace', { body: '{"name":"n","unionId":"u-1","option":{"a":1,"a":2}}' }), /'a' twice/);
  });

  it('refuses an encoded body', async () => {
    await expectParamError(call('addSpace', { body: '{"name":"n","unionId":"u-1"}', headers: { 'content-encoding': 'gzip' } }), /encoded/);
  });

  it('parses __proto__ keys without polluting any prototype', async () => {
    await expectThrough(call('addSpace', { body: '{"__proto__":{"polluted":1},"name":"n","unionId":"u-1"}' }));
    await expectThrough(call('addSpace', { body: '{"constructor":{"prototype":{"polluted":1}},"name":"n","unionId":"u-1"}' }));
    await expectThrough(call('addSpace', { body: '{"name":"n","unionId":"u-1","nested":{"__proto__":{"polluted":1}}}' }));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('does not let a __proto__ key supply required fields (it is an own property, not a prototype)', async () => {
    await expectParamError(call('addSpace', { body: '{"__proto__":{"name":"n","unionId":"u-1"}}' }), /name|unionId/);
    expect(({} as Record<string, unknown>).name).toBeUndefined();
  });
});
