/**
 * Bad input, property-based, in process: the gateway and an in-process sandbox (no socket), the
 * sandbox's call counters proving what reached DingTalk.
 *
 * For every operation of the gateway contract (read from the contract, not listed here), and
 * for random requests that match none, every generated request must satisfy:
 * - the gateway answers (the promise resolves: no crash) and keeps answering afterwards;
 * - never 500/502/503/504 (DingTalk is healthy in these tests);
 * - `x-request-id` is always a sane id (a caller's insane one is never echoed);
 * - exactly one access-log line, with the answered status;
 * - every non-2xx is JSON in DingTalk's shape (string `code`, `message`, `requestid`), and valid
 *   against the contract for the operation (`validateResponse`);
 * - answered by the gateway itself (no sandbox counter moved): the code is one of the contract's
 *   `GatewayErrorCode`s, or DingTalk's own where DingTalk would answer the same (a code the
 *   spec gives the operation for bad input; `InvalidAction.NotFound` for no operation),
 *   `requestid` equals `x-request-id`, no `x-acs-*` header;
 * - forwarded: exactly one call, of the very operation the gateway matched, the body byte for
 *   byte, without the caller's key or token, and DingTalk's answer passed through (`requestid`
 *   equals `x-acs-request-id`: DingTalk's errors are passed on unchanged, by design);
 * - a request made invalid on purpose (missing/wrong/repeated parameter, body breaking the
 *   schema, not JSON, not UTF-8, over the size limit) is refused with 400 and DingTalk's code
 *   for that operation's bad input (413 `gateway.request.tooLarge`) and never forwarded; a
 *   valid one is forwarded;
 * - nothing pollutes Object.prototype (`__proto__`, `constructor.prototype` payloads).
 *
 * Fixed seed by default (see ./support.ts); run longer with `FC_RUNS=2000`, another seed with
 * `FC_SEED=<n>`: `FC_RUNS=2000 npx vitest run src/reliability/bad-input.property.test.ts`.
 */
import { type OpenApiDocument, dingtalkOperationsOf, invalidInputRules, operationsOf } from '@dingtalk-gateway/spec';
import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, createHarness, operatorId } from '../in-process.js';
import { type OperationModel, gatewayErrorCodes, invalidJsonBody, invalidString, operationModels, validJson, validString } from './contract-model.js';
import { SANE_REQUEST_ID, SERVER_FAILURE_STATUSES, apiCallsBetween, isDingTalkError, parseJson, propertyParameters, propertyTimeoutMs } from './support.js';

const contract = loadGatewayContract();
const models = operationModels(contract);
const GATEWAY_CODES = gatewayErrorCodes(contract);
const INVALID_INPUT_CODES = invalidInputCodes(contract);

/** Per operation, every code the spec's `x-dingtalk-invalid-input` rules can answer bad input with. */
function invalidInputCodes(doc: OpenApiDocument): ReadonlyMap<string, ReadonlySet<string>> {
  return new Map(
    [...operationsOf(doc)].map(({ path, method, operation }) => {
      const rules = invalidInputRules(doc, path, method);
      const fieldCodes = [...rules.fields.values()].flatMap((rule) => [rule.code, rule.valueCode]);
      return [operation.operationId, new Set([rules.operation.code, rules.body.code, ...fieldCodes])];
    }),
  );
}
const JSON_CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'Application/JSON'];
const RUNS_PER_OPERATION = 60;
const RUNS_CHAOS = 150;
/** Marks a query parameter to leave out. */
const DROP = '\u0000drop';

/** What the generator knows the gateway must do with a request. */
/** `invalid`: refused with 400 and DingTalk's code for the operation's bad input. */
type Expectation = 'forward' | 'invalid' | 'tooLarge' | 'refuse' | 'any';

interface GeneratedRequest {
  label: string;
  method: string;
  /** Path and query, as written on the request line. */
  target: string;
  headers: Array<[string, string]>;
  body?: string | Uint8Array;
  /** `null`: no Authorization header. */
  key: string | null;
  expect: Expectation;
}

interface Observed {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
  calls: Record<string, number>;
  upstream: Harness['upstreamRequests'];
  log: Record<string, unknown> | undefined;
}

let h: Harness;
let logOffset = 0;
const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

beforeAll(() => {
  // A tenant limit no property reaches: rate limiting is not what these properties are about.
  h = createHarness({ config: { tenants: { full: { rateLimit: { rate: 1_000_000, burst: 1_000_000 } }, reader: { rateLimit: { rate: 1_000_000, burst: 1_000_000 } } } } });
});

afterAll(() => {
  expectNoPollution();
});

function expectNoPollution() {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
}

function newLogLines(): Array<Record<string, unknown>> {
  const raw = h.rawLogs();
  const fresh = raw.slice(logOffset);
  logOffset = raw.length;
  return fresh
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function send(request: GeneratedRequest): Promise<Observed> {
  newLogLines();
  const before = h.sandbox.counters.snapshot();
  const upstreamBefore = h.upstreamRequests.length;
  const headers = new Headers(request.headers);
  if (request.key !== null) headers.set('authorization', `Bearer ${request.key}`);
  const init: RequestInit = { method: request.method, headers };
  if (request.body !== undefined) init.body = request.body as RequestInit['body'];
  // The gateway's own fetch handler: a rejection here would be a crash of the request path.
  const response = await h.gateway.app.fetch(new Request(`http://gateway.test${request.target}`, init));
  const text = await response.text();
  const after = h.sandbox.counters.snapshot();
  const id = response.headers.get('x-request-id');
  const lines = newLogLines().filter((line) => line.msg === 'request');
  expect(lines.filter((line) => line.requestId === id), 'one access-log line per request').toHaveLength(1);
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: parseJson(text),
    calls: apiCallsBetween(before, after),
    upstream: h.upstreamRequests.slice(upstreamBefore).filter((r) => !r.path.startsWith('/v1.0/oauth2/')),
    log: lines.find((line) => line.requestId === id),
  };
}

/** The invariants every answer must satisfy, whatever was sent. */
function checkInvariants(request: GeneratedRequest, seen: Observed) {
  const where = `${request.label}: ${request.method} ${request.target.slice(0, 300)} → ${seen.status} ${seen.text.slice(0, 300)}`;
  expect(SERVER_FAILURE_STATUSES.has(seen.status), `no 5xx of the gateway's making; ${where}`).toBe(false);
  const id = seen.headers.get('x-request-id');
  expect(id, `x-request-id; ${where}`).toMatch(SANE_REQUEST_ID);
  // Several x-request-id headers arrive joined with ", ": not a sane id any more.
  const offered = new Headers(request.headers).get('x-request-id') ?? undefined;
  if (offered !== undefined && SANE_REQUEST_ID.test(offered)) expect(id).toBe(offered);
  expect(seen.log?.status, `the access log tells the status; ${where}`).toBe(seen.status);

  const operation = typeof seen.log?.operation === 'string' && seen.log.operation !== '-' ? seen.log.operation : undefined;
  const forwarded = Object.keys(seen.calls).length > 0;
  if (seen.status >= 400 && request.method !== 'HEAD') {
    expect(seen.headers.get('content-type'), `JSON; ${where}`).toMatch(/^application\/json/);
    expect(isDingTalkError(seen.body), `DingTalk's error shape; ${where}`).toBe(true);
  }
  if (operation && seen.body !== undefined) {
    expect(h.gateway.validator.validateResponse(operation, seen.status, seen.body), `the contract's answer for ${operation}; ${where}`).toEqual({ ok: true });
  }

  if (forwarded) {
    // Forwarded: once, as the operation the gateway matched and authorized, nothing else.
    expect(seen.calls, `reached DingTalk as the matched operation; ${where}`).toEqual({ [operation ?? '(none matched)']: 1 });
    expect(seen.upstream, where).toHaveLength(1);
    const sent = seen.upstream[0]!;
    const url = new URL(`http://gateway.test${request.target}`);
    expect(sent.path, where).toBe(url.pathname + url.search);
    // The caller's key and any DingTalk token the caller sent never travel on.
    expect(sent.headers.get('authorization'), where).toBeNull();
    const callerToken = new Headers(request.headers).get('x-acs-dingtalk-access-token');
    if (callerToken) expect(sent.headers.get('x-acs-dingtalk-access-token'), where).not.toBe(callerToken);
    if (request.body !== undefined && request.method !== 'GET') {
      // Decoded as the harness records it (a UTF-8 BOM dropped), from the bytes as sent.
      const bytes = new TextDecoder().decode(typeof request.body === 'string' ? new TextEncoder().encode(request.body) : request.body);
      expect(sent.body, `the body byte for byte; ${where}`).toBe(bytes);
    }
    expect(seen.headers.get('x-acs-request-id'), where).toBeTruthy();
    if (seen.status >= 400) expect((seen.body as { requestid: string }).requestid, `DingTalk's error, unchanged; ${where}`).toBe(seen.headers.get('x-acs-request-id'));
  } else {
    expect(seen.upstream, where).toHaveLength(0);
    if (operation) expect(seen.status < 200 || seen.status >= 300, `a 2xx for ${operation} must come from DingTalk; ${where}`).toBe(true);
    if (seen.status >= 400 && request.method !== 'HEAD') {
      const body = seen.body as { code: string; requestid: string };
      const dingtalkOwn = operation ? INVALID_INPUT_CODES.get(operation)!.has(body.code) && seen.status === 400 : body.code === 'InvalidAction.NotFound' && seen.status === 404;
      expect(GATEWAY_CODES.has(body.code) || dingtalkOwn, `a code of the gateway's own, or DingTalk's for the same request (${body.code}); ${where}`).toBe(true);
      expect(body.requestid, `requestid = x-request-id; ${where}`).toBe(id);
      expect([...seen.headers.keys()].filter((name) => name.startsWith('x-acs-')), `no DingTalk header on the gateway's own answer; ${where}`).toEqual([]);
    }
  }

  switch (request.expect) {
    case 'forward':
      expect(forwarded, `a valid request is forwarded; ${where}`).toBe(true);
      break;
    case 'invalid':
      expect(forwarded, `an invalid request is never forwarded; ${where}`).toBe(false);
      expect(seen.status, where).toBe(400);
      expect(operation, `refused as an operation's bad input; ${where}`).toBeDefined();
      expect([...INVALID_INPUT_CODES.get(operation!)!], `DingTalk's code for this operation's bad input; ${where}`).toContain((seen.body as { code?: string }).code);
      break;
    case 'tooLarge':
      expect(forwarded, where).toBe(false);
      expect([seen.status, (seen.body as { code?: string }).code], where).toEqual([413, 'gateway.request.tooLarge']);
      break;
    case 'refuse':
      expect(forwarded, `refused, never forwarded; ${where}`).toBe(false);
      expect(seen.status, where).toBeGreaterThanOrEqual(400);
      break;
    case 'any':
      break;
  }
}

async function expectStillServing() {
  const health = await h.gateway.app.request('/healthz');
  expect(health.status).toBe(200);
  const list = await h.call(`/v2.0/wiki/workspaces?operatorId=${operatorId}`);
  expect(list.status).toBe(200);
  expectNoPollution();
}

// ---------------------------------------------------------------------------------------------
// Arbitraries.

const encode = (value: string) => encodeURIComponent(value);

const harmlessHeaders = fc.array(
  fc.oneof(
    fc.tuple(fc.constantFrom('x-request-id'), fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/), fc.string({ unit: 'grapheme-ascii', maxLength: 200 }).map((s) => s.replace(/[\r\n\0]/g, '')))),
    fc.tuple(fc.constantFrom('x-acs-dingtalk-access-token', 'x-forwarded-for', 'x-real-ip', 'forwarded', 'via', 'cookie', 'accept', 'user-agent', 'x-tenant', 'x-dtg-tenant', 'accept-language'), fc.string({ unit: 'grapheme-ascii', maxLength: 60 }).map((s) => s.replace(/[\r\n\0]/g, ''))),
    fc.tuple(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), fc.string({ unit: 'grapheme-ascii', maxLength: 60 }).map((s) => s.replace(/[\r\n\0]/g, ''))),
    fc.tuple(fc.constant('connection'), fc.constantFrom('keep-alive', 'close', 'x-request-id', 'authorization, content-type', 'content-length')),
  ),
  { maxLength: 4 },
);

/** A request for `model`, valid or broken in one known way. */
function requestFor(model: OperationModel): fc.Arbitrary<GeneratedRequest> {
  const pathParams = model.parameters.filter((p) => p.in === 'path');
  const queryParams = model.parameters.filter((p) => p.in === 'query');

  const validPath = fc.record(Object.fromEntries(pathParams.map((p) => [p.name, validString(p.name, p.schema, { pathSegment: true })])));
  const validQuery = fc.record(
    Object.fromEntries(queryParams.map((p) => [p.name, p.required ? validString(p.name, p.schema) : fc.option(validString(p.name, p.schema), { nil: undefined })])),
  ) as fc.Arbitrary<Record<string, string | undefined>>;
  const unknownQuery = fc.array(
    fc.tuple(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }).filter((name) => !queryParams.some((p) => p.name === name)),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
    ),
    { maxLength: 2 },
  );

  type Broken = { kind: string; expect: Expectation; path?: Record<string, string>; query?: Array<[string, string]>; body?: string | Uint8Array };
  const breakings: Array<fc.Arbitrary<Broken | null>> = [fc.constant(null), fc.constant(null)];
  for (const p of queryParams) {
    if (p.required) breakings.push(fc.constant({ kind: `without required ${p.name}`, expect: 'invalid' as const, query: [[p.name, DROP]] }));
    // An optional parameter sent empty counts as not sent: '' is not an invalid value of it.
    const invalid = p.required ? invalidString(p.schema) : invalidString(p.schema)?.filter((value) => value !== '');
    if (invalid) breakings.push(invalid.map((value) => ({ kind: `${p.name}=${JSON.stringify(value).slice(0, 40)}`, expect: 'invalid' as const, query: [[p.name, value]] })));
    breakings.push(fc.tuple(validString(p.name, p.schema), validString(p.name, p.schema)).map(([a, b]) => ({ kind: `${p.name} repeated`, expect: 'invalid' as const, query: [[p.name, a], [p.name, b]] })));
  }
  for (const p of pathParams) {
    const invalid = invalidString(p.schema);
    // An empty path segment no longer names the operation's path: 404 or 400, never forwarded.
    if (invalid) breakings.push(invalid.map((value) => ({ kind: `path ${p.name}=${JSON.stringify(value)}`, expect: 'refuse' as const, path: { [p.name]: value } })));
  }
  if (model.body) {
    const schema = model.body.schema;
    breakings.push(invalidJsonBody(schema).map(({ kind, body }) => ({ kind: `body ${kind}`, expect: 'invalid' as const, body: JSON.stringify(body) })));
    if (model.body.required) breakings.push(fc.constant({ kind: 'no body', expect: 'invalid' as const, body: '' }));
    breakings.push(
      fc.oneof(fc.string({ maxLength: 30 }), validJson('', schema).map((v) => JSON.stringify(v).slice(0, -1))).filter((s) => s !== '' && parseJson(s) === undefined)
        .map((body) => ({ kind: 'body not JSON', expect: 'invalid' as const, body })),
    );
    breakings.push(
      fc.tuple(validJson('', schema), fc.constantFrom([0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80])).map(([value, bad]) => {
        const bytes = Buffer.from(JSON.stringify({ ...(value as object), note: 'x' }));
        // In place of the "x" of note (the last "x", after every generated field): the JSON stays well-formed, only the UTF-8 is broken.
        const x = bytes.lastIndexOf(0x78);
        return { kind: 'body not UTF-8', expect: 'invalid' as const, body: new Uint8Array(Buffer.concat([bytes.subarray(0, x), Buffer.from(bad), bytes.subarray(x + 1)])) };
      }),
    );
    breakings.push(validJson('', schema).map((value) => ({ kind: 'body over 1 MiB', expect: 'tooLarge' as const, body: JSON.stringify({ ...(value as object), padding: 'x'.repeat(1024 * 1024) }) })));
  }

  return fc
    .record({
      path: validPath,
      query: validQuery,
      unknown: unknownQuery,
      body: model.body ? validJson('', model.body.schema).map((v) => JSON.stringify(v)) : fc.constant(undefined),
      contentType: fc.constantFrom(...JSON_CONTENT_TYPES),
      headers: harmlessHeaders,
      broken: fc.oneof(...breakings),
    })
    .map(({ path, query, unknown, body, contentType, headers, broken }) => {
      const pathValues = { ...path, ...(broken?.path ?? {}) };
      const target = model.template.replace(/\{([^}]+)\}/g, (_, name: string) => encode(pathValues[name] ?? ''));
      let pairs: Array<[string, string]> = Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined);
      const replaced = new Set((broken?.query ?? []).map(([name]) => name));
      pairs = pairs.filter(([name]) => !replaced.has(name));
      for (const [name, value] of broken?.query ?? []) if (value !== DROP) pairs.push([name, value]);
      pairs.push(...unknown);
      const search = pairs.map(([n, v]) => `${encode(n)}=${encode(v)}`).join('&');
      const sentBody = broken?.body !== undefined ? broken.body : body;
      const hasBody = sentBody !== undefined && sentBody !== '';
      return {
        label: `${model.operationId} ${broken?.kind ?? 'valid'}`,
        method: model.method,
        target: search ? `${target}?${search}` : target,
        headers: [...headers, ...(hasBody ? [['content-type', contentType] as [string, string]] : [])],
        ...(hasBody ? { body: sentBody } : {}),
        key: h.keys.full,
        expect: broken?.expect ?? 'forward',
      } satisfies GeneratedRequest;
    });
}

/** Anything at all: methods, paths, queries, headers, bodies, keys. */
function anyRequest(): fc.Arbitrary<GeneratedRequest> {
  const segment = fc.oneof(
    fc.constantFrom('v1.0', 'v2.0', 'wiki', 'workspaces', 'doc', 'docs', 'drive', 'spaces', 'oauth2', 'accessToken', '__sandbox', 'state', 'metrics', 'admin', '..', '.', '', '%2e%2e', '%2F', '%00', '%zz', '%', '%c3%28', '%ff', '~', seeded.workspaces.handbook.workspaceId),
    fc.webSegment(),
    fc.string({ unit: 'grapheme', maxLength: 12 }).map(encode),
  );
  const path = fc.oneof(
    { weight: 4, arbitrary: fc.array(segment, { minLength: 1, maxLength: 6 }).map((segments) => `/${segments.join('/')}`) },
    { weight: 3, arbitrary: fc.constantFrom(...models.map((m) => m.template)).chain((t) => segment.map((s) => t.replace(/\{[^}]+\}/g, s || 'x'))) },
    { weight: 1, arbitrary: fc.constantFrom('/', '//v2.0//wiki//workspaces', '/v2.0/wiki/workspaces/', '/V2.0/WIKI/WORKSPACES', `/${'a'.repeat(70_000)}`, '/healthz', '/readyz', '/openapi.json') },
  );
  const query = fc.oneof(
    fc.constant(''),
    fc.webQueryParameters().map((q) => `?${q}`),
    fc.array(fc.tuple(fc.constantFrom('operatorId', 'maxResults', 'withPermissionRole', 'orderBy', 'nextToken', 'teamId', '__proto__', 'constructor[prototype][polluted]', '__proto__[polluted]'), fc.oneof(fc.webSegment(), fc.constantFrom(operatorId, '%ff', '%', '1e400', 'true', '-1', 'x'.repeat(100_000)))), { maxLength: 4 })
      .map((pairs) => `?${pairs.map(([n, v]) => `${n}=${v}`).join('&')}`),
  );
  const body = fc.oneof(
    fc.constant(undefined),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.anything({ maxDepth: 3 }).map((v) => {
      try {
        return JSON.stringify(v) ?? 'undefined';
      } catch {
        return String(typeof v);
      }
    }),
    fc.uint8Array({ maxLength: 64 }),
    fc.constantFrom(`{"name":"x","unionId":"${operatorId}","__proto__":{"polluted":1}}`, '{"constructor":{"prototype":{"polluted":1}}}', '{"a":1,"a":2}', '[[[[[[[[[[]]]]]]]]]]'),
  );
  const key = fc.oneof(
    { weight: 6, arbitrary: fc.constant('full' as const) },
    { weight: 1, arbitrary: fc.constant('reader' as const) },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 60 }).map((s) => s.replace(/[\r\n\0]/g, '')) },
  );
  return fc
    .record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND', 'get', 'Post'),
      path,
      query,
      body,
      contentType: fc.option(fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', ''), { nil: undefined }),
      headers: harmlessHeaders,
      key,
    })
    .map(({ method, path, query, body, contentType, headers, key }) => {
      const canHaveBody = !['GET', 'HEAD'].includes(method.toUpperCase());
      return {
        label: 'any',
        method,
        target: path + query,
        headers: [...headers, ...(contentType !== undefined && contentType !== '' ? [['content-type', contentType] as [string, string]] : [])],
        ...(canHaveBody && body !== undefined ? { body } : {}),
        key: key === 'full' ? h.keys.full : key === 'reader' ? h.keys.reader : key,
        expect: 'any' as const,
      };
    });
}

// ---------------------------------------------------------------------------------------------

describe('bad input, property-based (in process, sandbox counters)', () => {
  it('derives every operation of the contract', () => {
    expect(models.length).toBeGreaterThan(0);
    expect(new Set(models.map((m) => m.operationId)).size).toBe(models.length);
    // Every DingTalk operation of the contract is exercised below; an operation with no parameters and no body would still be.
    expect(models.map((m) => m.operationId).sort()).toEqual([...dingtalkOperationsOf(contract)].map(({ operation }) => operation.operationId).sort());
    expect(models.length).toBe(h.gateway.validator.operations.length - 1); // GET /gateway/usage
  });

  describe.each(models.map((m) => [m.operationId, m] as const))('%s', (_, model) => {
    it(
      'refuses what breaks the contract without forwarding it, forwards what keeps it, and always answers in shape',
      async () => {
        const outcomes = new Map<string, number>();
        await fc.assert(
          fc.asyncProperty(requestFor(model), async (request) => {
            const seen = await send(request);
            checkInvariants(request, seen);
            const kind = `${request.expect}:${seen.status}`;
            outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
          }),
          propertyParameters(RUNS_PER_OPERATION),
        );
        // The generator reaches both sides: some requests forwarded, some refused.
        expect([...outcomes.keys()].some((k) => k.startsWith('forward:')), JSON.stringify([...outcomes])).toBe(true);
        expect([...outcomes.keys()].some((k) => k.startsWith('invalid:') || k.startsWith('refuse:')), JSON.stringify([...outcomes])).toBe(true);
        await expectStillServing();
      },
      propertyTimeoutMs(RUNS_PER_OPERATION),
    );
  });

  it(
    'answers any request at all (methods, paths, queries, headers, bodies, keys) within the invariants',
    async () => {
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(anyRequest(), async (request) => {
          const seen = await send(request);
          checkInvariants(request, seen);
          statuses.set(seen.status, (statuses.get(seen.status) ?? 0) + 1);
        }),
        propertyParameters(RUNS_CHAOS),
      );
      // The generator reaches every stage of the request path, not only the 404 of the router.
      expect([...statuses.keys()].sort(), JSON.stringify([...statuses])).toEqual(expect.arrayContaining([200, 400, 401, 404]));
      await expectStillServing();
    },
    propertyTimeoutMs(RUNS_CHAOS),
  );
});

describe('bad input, hand-picked (in process)', () => {
  const bodyOperations = models.filter((m) => m.body);
  const targetOf = (model: OperationModel) =>
    model.template.replace(/\{[^}]+\}/g, seeded.workspaces.handbook.workspaceId) +
    (model.parameters.some((p) => p.in === 'query' && p.name === 'operatorId') ? `?operatorId=${operatorId}` : '');
  const validBodyOf = (model: OperationModel) => fc.sample(validJson('', model.body!.schema), { seed: 7, numRuns: 1 })[0] as Record<string, unknown>;
  const post = (model: OperationModel, body: string | Uint8Array, expectation: Expectation, label: string, contentType = 'application/json'): GeneratedRequest => ({
    label,
    method: model.method,
    target: targetOf(model),
    headers: [['content-type', contentType]],
    body,
    key: h.keys.full,
    expect: expectation,
  });

  const cases: Array<[string, (m: OperationModel) => GeneratedRequest]> = [
    ['[[[[…]]]] 10,000 deep', (m) => post(m, '['.repeat(10_000) + ']'.repeat(10_000), 'invalid', 'deep array')],
    ['{"a":{"a":…}} 10,000 deep in an undeclared property', (m) => post(m, `${JSON.stringify(validBodyOf(m)).slice(0, -1)},"deep":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`, 'any', 'deep object')],
    ['{"x":[[[…]]]} 100,000 deep, not closed', (m) => post(m, `{"x":${'['.repeat(100_000)}`, 'invalid', 'deep unclosed')],
    ['a 2 MB string', (m) => post(m, JSON.stringify({ ...validBodyOf(m), name: 'x'.repeat(2 * 1024 * 1024) }), 'tooLarge', '2 MB')],
    ['2 MB with Content-Length: 10', (m) => ({ ...post(m, JSON.stringify({ ...validBodyOf(m), name: 'y'.repeat(2 * 1024 * 1024) }), 'tooLarge', '2 MB lying'), headers: [['content-type', 'application/json'], ['content-length', '10']] })],
    ['invalid UTF-8 (0xff) in a string', (m) => post(m, new Uint8Array([...Buffer.from('{"name":"'), 0xff, ...Buffer.from('"}')]), 'invalid', 'utf8 ff')],
    ['overlong UTF-8 (0xc0 0xaf)', (m) => post(m, new Uint8Array([...Buffer.from('{"name":"'), 0xc0, 0xaf, ...Buffer.from('"}')]), 'invalid', 'utf8 overlong')],
    ['a UTF-8-encoded surrogate (0xed 0xa0 0x80)', (m) => post(m, new Uint8Array([...Buffer.from('{"name":"'), 0xed, 0xa0, 0x80, ...Buffer.from('"}')]), 'invalid', 'utf8 surrogate')],
    ['truncated UTF-8 at the end', (m) => post(m, new Uint8Array([...Buffer.from(JSON.stringify(validBodyOf(m))), 0xe2, 0x82]), 'invalid', 'utf8 truncated')],
    ['a UTF-8 BOM before the JSON', (m) => post(m, `\uFEFF${JSON.stringify(validBodyOf(m))}`, 'any', 'bom')],
    ['duplicate keys written as raw text', (m) => post(m, JSON.stringify(validBodyOf(m)).replace(/\}$/, ',"name":"first","name":"second"}'), 'any', 'duplicate keys')],
    ['{"__proto__":{"polluted":1}} beside valid fields', (m) => post(m, JSON.stringify(validBodyOf(m)).replace(/^\{/, '{"__proto__":{"polluted":1},'), 'any', '__proto__')],
    ['{"constructor":{"prototype":{"polluted":1}}} beside valid fields', (m) => post(m, JSON.stringify(validBodyOf(m)).replace(/^\{/, '{"constructor":{"prototype":{"polluted":1}},'), 'any', 'constructor.prototype')],
    ['__proto__ inside a nested object', (m) => post(m, JSON.stringify(validBodyOf(m)).replace(/^\{/, '{"option":{"__proto__":{"polluted":1,"teamId":1}},'), 'any', 'nested __proto__')],
    ['only {"__proto__":{"polluted":1}}', (m) => post(m, '{"__proto__":{"polluted":1}}', 'invalid', 'bare __proto__')],
    ['a number too big for a double (1e400)', (m) => post(m, JSON.stringify(validBodyOf(m)).replace(/\}$/, ',"name":1e400}'), 'invalid', '1e400')],
    ['JSON with a trailing comma', (m) => post(m, JSON.stringify(validBodyOf(m)).replace(/\}$/, ',}'), 'invalid', 'trailing comma')],
    ['two JSON documents back to back', (m) => post(m, JSON.stringify(validBodyOf(m)) + JSON.stringify(validBodyOf(m)), 'invalid', 'two documents')],
    ['NUL bytes in a string', (m) => post(m, JSON.stringify({ ...validBodyOf(m), name: 'a\u0000b' }), 'any', 'nul')],
  ];

  describe.each(bodyOperations.map((m) => [m.operationId, m] as const))('%s', (_, model) => {
    it.each(cases)('%s', async (_label, make) => {
      const request = make(model);
      checkInvariants(request, await send(request));
      expectNoPollution();
    });
  });

  it.each([
    ['__proto__[polluted]=1', '__proto__%5Bpolluted%5D=1'],
    ['constructor[prototype][polluted]=1', 'constructor%5Bprototype%5D%5Bpolluted%5D=1'],
    ['__proto__=x', '__proto__=x'],
    ['percent-encoding garbage', 'maxResults=%&orderBy=%zz&teamId=%c3%28&nextToken=%ff%fe'],
    ['a 100 KB value', `teamId=${'t'.repeat(100_000)}`],
    ['1,000 unknown parameters', Array.from({ length: 1000 }, (_, i) => `p${i}=${i}`).join('&')],
  ])('query %s on every GET operation: no pollution, invariants hold', async (_label, extra) => {
    for (const model of models.filter((m) => m.method === 'GET')) {
      const request: GeneratedRequest = { label: `query ${_label}`, method: 'GET', target: `${targetOf(model)}&${extra}`, headers: [], key: h.keys.full, expect: 'any' };
      checkInvariants(request, await send(request));
    }
    expectNoPollution();
  });

  /**
   * What DingTalk reads must be what the gateway validated. DingTalk (and the sandbox, which
   * follows it) reads a body only when its Content-Type says JSON: a body sent as text/plain,
   * or with no Content-Type, reaches DingTalk as no body at all. The gateway reads it alike and
   * refuses it as DingTalk would: 400 with the operation's code for a body it cannot read.
   */
  describe.each(bodyOperations.map((m) => [m.operationId, m] as const))('%s: the Content-Type DingTalk will read', (_, model) => {
    it.each([['text/plain'], ['application/x-www-form-urlencoded'], ['multipart/form-data; boundary=x'], ['application/xml'], ['(none)']])('%s', async (contentType) => {
      const request: GeneratedRequest = {
        label: `content-type ${contentType}`,
        method: model.method,
        target: targetOf(model),
        headers: contentType === '(none)' ? [] : [['content-type', contentType]],
        body: new TextEncoder().encode(JSON.stringify(validBodyOf(model))),
        key: h.keys.full,
        expect: 'invalid',
      };
      const seen = await send(request);
      checkInvariants(request, seen);
      const { path, method } = [...operationsOf(contract)].find(({ operation }) => operation.operationId === model.operationId)!;
      expect((seen.body as { code: string }).code).toBe(invalidInputRules(contract, path, method).body.code);
    });
  });
});
