import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';
import { createSpecValidator } from '@dingtalk-gateway/spec-validator';
import { Hono } from 'hono';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GatewayEnv } from '../../context.js';
import { beforeSteps } from '../before-steps.testing.js';
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

interface Init {
  query?: string;
  body?: Uint8Array | string;
  pathParams?: Record<string, string>;
  /** Sent as given; a body gets `content-type: application/json` unless this names one (or `null`: none). */
  headers?: Record<string, string | null>;
}

function call(operationId: string, init: Init = {}) {
  const downstream = vi.fn();
  const app = new Hono<GatewayEnv>();
  app.use(
    '*',
    beforeSteps((c) => {
      c.set('operation', validator.operation(operationId)!);
      c.set('pathParams', init.pathParams ?? {});
      c.set('rawBody', typeof init.body === 'string' ? encode(init.body) : init.body);
    }),
  );
  app.use('*', validateRequest({ validator }));
  app.all('*', (c) => {
    downstream();
    return c.text('through');
  });
  const headers: Record<string, string> = init.body === undefined ? {} : { 'content-type': 'application/json' };
  for (const [name, value] of Object.entries(init.headers ?? {})) {
    if (value === null) delete headers[name];
    else headers[name] = value;
  }
  const response = Promise.resolve(app.request(`/x${init.query === undefined ? '' : `?${init.query}`}`, { method: 'POST', headers }));
  return { response, downstream };
}

/** Refused, never passed on, with DingTalk's status and code in DingTalk's body shape; returns the message. */
async function expectRefused(pending: ReturnType<typeof call>, code: string, message: string | RegExp) {
  const response = await pending.response;
  expect(response.status).toBe(400);
  expect(response.headers.get('x-error-code')).toBe(code);
  const body = (await response.json()) as Record<string, unknown>;
  expect(body).toEqual({ code, message: expect.any(String), requestid: 'r-1' });
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
const validDoc = '{"name":"Notes","docType":"DOC","operatorId":"u-1"}';
const INPUT_ARGS = 'invalidRequest.inputArgs.invalid';

describe('validateRequest', () => {
  it('passes a valid request through', async () => {
    await expectThrough(call('addSpace', { body: validSpace }));
    await expectThrough(call('listWorkspaces', { query: 'operatorId=u-1&maxResults=30' }));
    await expectThrough(call('getWorkspace', { query: 'operatorId=u-1', pathParams: { workspaceId: 'ws-1' } }));
    await expectThrough(call('getWorkspace', { query: 'operatorId=u-1&withPermissionRole=', pathParams: { workspaceId: 'ws-1' } }));
  });

  // The cases where the gateway once answered a generic paramError and DingTalk its own code.
  it.each([
    ['listWorkspaces', { query: 'operatorId=u-1&orderBy=BAD' }, 'paramError.orderBy'],
    ['addWorkspace', { query: 'operatorId=u-1', body: '{}' }, 'paramError.name'],
    ['addWorkspace', { query: 'operatorId=u-1', body: '{"name":""}' }, 'paramError.name'],
    ['addWorkspace', { query: 'operatorId=u-1', body: '{"name":7}' }, 'paramError.name'],
    ['createWorkspaceDoc', { pathParams: { workspaceId: 'w' }, body: '{"name":"n","docType":"PDF","operatorId":"u"}' }, INPUT_ARGS],
    ['createWorkspaceDoc', { pathParams: { workspaceId: 'w' }, body: '{"name":"n","docType":"DOC","operatorId":"u","templateType":"x"}' }, INPUT_ARGS],
    ['createWorkspaceDoc', { pathParams: { workspaceId: 'w' }, body: '{"docType":"DOC","operatorId":"u"}' }, INPUT_ARGS],
    ['createWorkspaceDoc', { pathParams: { workspaceId: 'w' }, body: '{"name":"n","docType":"DOC"}' }, INPUT_ARGS],
    ['addSpace', { body: '{"name":"","unionId":"u"}' }, 'name.invalid'],
    ['addSpace', { body: '{"unionId":"u"}' }, 'param.error'],
    ['addSpace', { body: '{"name":"n"}' }, 'param.error'],
  ] as Array<[string, Init, string]>)('%s %j: 400 %s, as DingTalk answers it', async (operationId, init, code) => {
    await expectRefused(call(operationId, init), code, /./);
  });

  it("answers with the validator's own message and code", async () => {
    const cases: Array<[string, Init]> = [
      ['addSpace', { body: '{"name":"","unionId":"u-1"}' }],
      ['addSpace', {}],
      ['listWorkspaces', {}],
      ['listWorkspaces', { query: 'operatorId=u&maxResults=31' }],
      ['listWorkspaces', { query: 'operatorId=u&operatorId=v' }],
      ['listWorkspaces', { query: 'operatorId=u', body: '{}' }],
    ];
    for (const [operationId, init] of cases) {
      const query = new URLSearchParams(init.query ?? '');
      const body = init.body === undefined ? undefined : { bytes: encode(init.body as string), contentType: 'application/json' };
      const expected = validator.validateRequest(validator.operation(operationId)!, { pathParams: init.pathParams ?? {}, query, body });
      if (expected.ok) throw new Error(`${operationId} ${JSON.stringify(init)} should be refused`);
      expect(await expectRefused(call(operationId, init), expected.code, expected.message)).toBe(expected.message);
    }
  });

  it.each([
    ['text/plain', 'not text/plain'],
    ['application/x-www-form-urlencoded', 'not application/x-www-form-urlencoded'],
    ['text/json', 'not text/json'],
    [null, 'none was sent'],
  ])('reads no body declared as %s (DingTalk would not): the code of the body as a whole', async (contentType, said) => {
    await expectRefused(call('createWorkspaceDoc', { pathParams: { workspaceId: 'w' }, body: validDoc, headers: { 'content-type': contentType } }), INPUT_ARGS, new RegExp(said));
    await expectRefused(call('addWorkspace', { query: 'operatorId=u', body: '{"name":"n"}', headers: { 'content-type': contentType } }), 'paramError', new RegExp(said));
  });

  it('reads a body declared as JSON with any parameters, or as a +json type', async () => {
    for (const contentType of ['application/json; charset=utf-8', 'Application/JSON', 'application/vnd.api+json']) {
      await expectThrough(call('addSpace', { body: validSpace, headers: { 'content-type': contentType } }));
    }
  });

  it.each([
    ['a lone continuation byte', [0x7b, 0x22, 0x80, 0x22, 0x7d]],
    ['0xff', [0x7b, 0x22, 0xff, 0x22, 0x7d]],
    ['an overlong encoding of "/"', [0x22, 0xc0, 0xaf, 0x22]],
  ])('answers a body with %s as not valid UTF-8 (never decoded with replacement characters)', async (_what, bytes) => {
    await expectRefused(call('addSpace', { body: new Uint8Array(bytes) }), 'param.error', 'request body is not valid UTF-8');
  });

  it.each(['{"name": ', '{name: "x"}', "{'name':'x'}", '{"a":1,}', 'NaN', '{"a":1} {"b":2}'])('answers the malformed JSON %j with the body code', async (text) => {
    await expectRefused(call('addSpace', { body: text }), 'param.error', /^request body is not valid JSON: .+/);
    await expectRefused(call('createWorkspaceDoc', { pathParams: { workspaceId: 'w' }, body: text }), INPUT_ARGS, /^request body is not valid JSON: .+/);
  });

  it('reads the query from the URL as sent, percent-decoding it once', async () => {
    await expectThrough(call('listWorkspaces', { query: 'operatorId=a%26b%3Dc' }));
    // A declared parameter written in percent-encoding is still that parameter.
    await expectRefused(call('listWorkspaces', { query: 'operatorId=u&%6DaxResults=31' }), 'paramError', /maxResults/);
    // Undeclared parameters are ignored, as DingTalk ignores them.
    await expectThrough(call('listWorkspaces', { query: 'operatorId=u&_=123' }));
  });

  it('refuses a key written twice in one object (another parser could read the other value)', async () => {
    await expectRefused(call('addSpace', { body: '{"name":"","name":"ok","unionId":"u-1"}' }), 'param.error', /'name' twice/);
    await expectRefused(call('addSpace', { body: '{"name":"n","unionId":"u-1","option":{"a":1,"a":2}}' }), 'param.error', /'a' twice/);
  });

  it('refuses an encoded body', async () => {
    await expectRefused(call('addSpace', { body: validSpace, headers: { 'content-encoding': 'gzip' } }), 'param.error', /encoded/);
  });

  it('parses __proto__ keys without polluting any prototype', async () => {
    await expectThrough(call('addSpace', { body: '{"__proto__":{"polluted":1},"name":"n","unionId":"u-1"}' }));
    await expectThrough(call('addSpace', { body: '{"constructor":{"prototype":{"polluted":1}},"name":"n","unionId":"u-1"}' }));
    await expectThrough(call('addSpace', { body: '{"name":"n","unionId":"u-1","nested":{"__proto__":{"polluted":1}}}' }));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('does not let a __proto__ key supply required fields (it is an own property, not a prototype)', async () => {
    await expectRefused(call('addSpace', { body: '{"__proto__":{"name":"n","unionId":"u-1"}}' }), 'param.error', /name|unionId/);
    expect(({} as Record<string, unknown>).name).toBeUndefined();
  });
});
