/**
 * Differential: DingTalk and the gateway refuse bad input alike. For every operation of the
 * gateway contract (read from the contract, not listed here), valid requests are mutated in
 * every way the schema allows them to be wrong, and each case is sent twice: straight to
 * DingTalk (the sandbox) with a DingTalk token, and through the gateway with an API key. The
 * status and the `code` must be equal every time; only the message may differ (the gateway's
 * names the field). A failure prints the request.
 *
 * The mutations, each derived from the operation's schemas: a required parameter or property
 * missing; a value of the wrong type; outside its enum; outside its bounds; an empty string; a
 * declared query parameter repeated; an unknown query parameter or body property; a bad path
 * segment (empty, a dot segment, bad percent-encoding, an encoded slash); and, for bodies: no
 * body, malformed JSON, not JSON at all, a JSON value that is not an object, a wrong or missing
 * Content-Type, an encoded body, bytes that are not UTF-8, a key written twice. Unmutated valid
 * requests run beside them, as controls.
 *
 * Both sends meet the same world: the sandbox's state goes back to its seed before each one, so
 * a create that succeeds one way cannot make the other conflict.
 *
 * Fixed seed, a few hundred cases per operation; more with `FC_RUNS`, another seed with `FC_SEED`:
 * `FC_RUNS=3000 npx vitest run src/reliability/differential.property.test.ts`.
 */
import { dingtalkOperationsOf } from '@dingtalk-gateway/spec';
import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Harness, SANDBOX_ORIGIN, createHarness } from '../in-process.js';
import { type OperationModel, type Schema, invalidString, operationModels, validJson, validString } from './contract-model.js';
import { parseJson, propertyParameters, propertyTimeoutMs } from './support.js';

const contract = loadGatewayContract();
const models = operationModels(contract);
const RUNS_PER_OPERATION = 300;

interface Case {
  /** What was done to the valid request. */
  kind: string;
  method: string;
  /** Path and query, as sent. */
  target: string;
  headers: Array<[string, string]>;
  body?: string | Uint8Array;
}

interface Answer {
  status: number;
  code: string | undefined;
  text: string;
}

let h: Harness;
let dingtalkToken: string;

beforeAll(async () => {
  // Limits no case reaches: what is compared is the answer to the input, not the throttling.
  h = createHarness({ config: { tenants: { full: { rateLimit: { rate: 1_000_000, burst: 1_000_000 } } } } });
  const res = await h.sandbox.app.fetch(
    new Request(`${SANDBOX_ORIGIN}/v1.0/oauth2/accessToken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appKey: seeded.apps.full.appKey, appSecret: seeded.apps.full.appSecret }),
    }),
  );
  dingtalkToken = ((await res.json()) as { accessToken: string }).accessToken;
});

async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  const body = parseJson(text) as { code?: unknown } | undefined;
  return { status: response.status, code: response.status >= 400 && typeof body?.code === 'string' ? body.code : undefined, text: text.slice(0, 300) };
}

/** The same request, to DingTalk with a token and to the gateway with a key, each against the seed's state. */
async function sendBothWays(sent: Case): Promise<{ dingtalk: Answer; gateway: Answer }> {
  const init = (credential: [string, string]): RequestInit => {
    const headers = new Headers(sent.headers);
    headers.set(...credential);
    return { method: sent.method, headers, ...(sent.body === undefined ? {} : { body: sent.body as RequestInit['body'] }) };
  };
  h.sandbox.state.reset();
  const dingtalk = await answerOf(await h.sandbox.app.fetch(new Request(`${SANDBOX_ORIGIN}${sent.target}`, init(['x-acs-dingtalk-access-token', dingtalkToken]))));
  h.sandbox.state.reset();
  const gateway = await answerOf(await h.gateway.app.fetch(new Request(`http://gateway.test${sent.target}`, init(['authorization', `Bearer ${h.keys.full}`]))));
  return { dingtalk, gateway };
}

// ---------------------------------------------------------------------------------------------
// Mutations, from the schemas.

interface Valid {
  path: Record<string, string>;
  query: Array<[string, string]>;
  body: unknown;
}

/** What a mutation changes; anything it leaves out is the valid request's. */
interface Broken {
  kind: string;
  /** Path segments as written on the request line (not encoded again). */
  path?: Record<string, string>;
  query?: (valid: Array<[string, string]>) => Array<[string, string]>;
  /** The body as sent, from the valid one; `null`: none. */
  body?: (valid: unknown) => string | Uint8Array | null;
  /** `null`: no Content-Type. */
  contentType?: string | null;
  headers?: Array<[string, string]>;
}

const encode = encodeURIComponent;
const without = (name: string) => (pairs: Array<[string, string]>) => pairs.filter(([n]) => n !== name);
const replacing = (name: string, ...values: string[]) => (pairs: Array<[string, string]>) => [...without(name)(pairs), ...values.map((v): [string, string] => [name, v])];

/** Strings the schema refuses for a query or path value: its own refusals, and the types it is not. */
function refusedValues(schema: Schema): fc.Arbitrary<string> | undefined {
  const own = invalidString(schema);
  const notItsType = schema.type === 'integer' || schema.type === 'number' ? fc.constantFrom('abc', '1.5', '1e3', 'true', ' 7') : schema.type === 'boolean' ? fc.constantFrom('yes', '1', 'TRUE', 'null') : undefined;
  const choices = [own, notItsType].filter((a): a is fc.Arbitrary<string> => a !== undefined);
  return choices.length === 0 ? undefined : fc.oneof(...choices);
}

/** A JSON value of a type the schema is not. */
function wrongType(schema: Schema): fc.Arbitrary<unknown> {
  const choices: Array<fc.Arbitrary<unknown>> = [fc.constant(null), fc.integer(), fc.boolean(), fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 })];
  if (schema.type !== 'string') choices.push(fc.string({ maxLength: 8 }));
  if (schema.type !== 'object') choices.push(fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 }));
  return fc.oneof(...choices);
}

/** Every property of a body schema, nested ones too, with the path to it. */
function propertiesOf(schema: Schema, at: string[] = []): Array<{ at: string[]; schema: Schema; required: boolean }> {
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries((schema.properties ?? {}) as Record<string, Schema>).flatMap(([name, child]) => [
    { at: [...at, name], schema: child, required: required.has(name) },
    ...propertiesOf(child, [...at, name]),
  ]);
}

/** `body` with the value at `at` set (or deleted, for `undefined`), parents created as objects. */
function withValue(body: unknown, at: string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(body) as Record<string, unknown>;
  let node = copy;
  for (const key of at.slice(0, -1)) {
    const next = node[key];
    node = node[key] = next !== null && typeof next === 'object' && !Array.isArray(next) ? { ...(next as object) } : {};
  }
  const last = at.at(-1)!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

function breakings(model: OperationModel): Array<fc.Arbitrary<Broken>> {
  const out: Array<fc.Arbitrary<Broken>> = [fc.constant({ kind: 'valid (control)' })];

  for (const p of model.parameters.filter((p) => p.in === 'query')) {
    if (p.required) out.push(fc.constant({ kind: `query ${p.name} missing`, query: without(p.name) }));
    const refused = refusedValues(p.schema);
    if (refused) out.push(refused.map((value) => ({ kind: `query ${p.name}=${JSON.stringify(value)}`, query: replacing(p.name, encode(value)) })));
    out.push(fc.constant({ kind: `query ${p.name} empty`, query: replacing(p.name, '') }));
    out.push(
      fc.tuple(validString(p.name, p.schema), validString(p.name, p.schema)).map(([a, b]) => ({ kind: `query ${p.name} repeated`, query: replacing(p.name, encode(a), encode(b)) })),
    );
  }
  out.push(
    fc
      .tuple(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,11}$/), fc.string({ maxLength: 12 }))
      .filter(([name]) => !model.parameters.some((p) => p.name === name))
      .map(([name, value]) => ({ kind: `unknown query parameter ${name}`, query: (pairs) => [...pairs, [name, encode(value)]] })),
  );

  for (const p of model.parameters.filter((p) => p.in === 'path')) {
    out.push(
      fc.constantFrom('', '.', '..', '%2e%2e', '%2F', 'a%2Fb', '%zz', '%E0%A4%A', '%', '%00', 'no-such-id', '%E4%B8%AD').map((segment) => ({ kind: `path ${p.name}=${JSON.stringify(segment)}`, path: { [p.name]: segment } })),
    );
  }

  if (model.body) {
    const schema = model.body.schema;
    out.push(fc.constant({ kind: 'no body', body: () => null }));
    out.push(fc.constantFrom('', '{', '{"name": ', '{name: "x"}', "{'a':1}", '{"a":1,}', 'NaN', '{} {}', '[', 'null x').map((text) => ({ kind: `malformed JSON ${JSON.stringify(text)}`, body: () => text })));
    out.push(
      fc.oneof(fc.constant(null), fc.integer(), fc.string({ maxLength: 8 }), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 2 })).map((value) => ({ kind: `body ${JSON.stringify(value)}`, body: () => JSON.stringify(value) })),
    );
    out.push(
      fc.constantFrom(null, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/json', 'application/x-json', 'application/xml', '').map((contentType) => ({
        kind: `content-type ${JSON.stringify(contentType)}`,
        contentType: contentType === '' ? null : contentType,
      })),
    );
    out.push(fc.constantFrom('gzip', 'deflate', 'br').map((encoding) => ({ kind: `content-encoding ${encoding}`, headers: [['content-encoding', encoding] as [string, string]] })));
    out.push(
      fc.constantFrom([0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82]).map((bad) => ({
        kind: `not UTF-8 ${JSON.stringify(bad)}`,
        body: (valid: unknown) => {
          // The bad bytes in place of a string's content, the JSON otherwise well-formed.
          const text = JSON.stringify({ ...(valid as object), note: 'x' });
          const x = text.lastIndexOf('x');
          return new Uint8Array([...Buffer.from(text.slice(0, x)), ...bad, ...Buffer.from(text.slice(x + 1))]);
        },
      })),
    );
    out.push(fc.constant({ kind: 'a key twice', body: (valid: unknown) => JSON.stringify(valid).replace(/^\{/, '{"dup":1,"dup":2,') }));
    out.push(
      fc
        .tuple(fc.string({ minLength: 1, maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }))
        .filter(([key]) => !(key in ((schema.properties ?? {}) as object)))
        .map(([key, value]) => ({ kind: `unknown body property ${JSON.stringify(key)}`, body: (valid: unknown) => JSON.stringify(withValue(valid, [key], value)) })),
    );
    for (const property of propertiesOf(schema)) {
      const name = property.at.join('.');
      const set = (value: unknown) => (valid: unknown) => JSON.stringify(withValue(valid, property.at, value));
      if (property.required) out.push(fc.constant({ kind: `body ${name} missing`, body: set(undefined) }));
      out.push(wrongType(property.schema).map((value) => ({ kind: `body ${name}=${JSON.stringify(value)}`, body: set(value) })));
      if (property.schema.type === 'string') out.push(fc.constant({ kind: `body ${name} empty`, body: set('') }));
      const refused = invalidString(property.schema);
      if (refused) out.push(refused.map((value) => ({ kind: `body ${name}=${JSON.stringify(value)}`, body: set(value) })));
    }
  }
  return out;
}

/** The valid request of an operation: realistic values mostly, random ones too. */
function validRequest(model: OperationModel): fc.Arbitrary<Valid> {
  const path = fc.record(Object.fromEntries(model.parameters.filter((p) => p.in === 'path').map((p) => [p.name, validString(p.name, p.schema, { pathSegment: true })])));
  const query = fc.tuple(
    ...model.parameters
      .filter((p) => p.in === 'query')
      .map((p) => (p.required ? validString(p.name, p.schema).map((v) => [p.name, v] as [string, string]) : fc.option(validString(p.name, p.schema).map((v) => [p.name, v] as [string, string]), { nil: undefined }))),
  );
  return fc.record({
    path,
    query: query.map((pairs) => pairs.filter((pair): pair is [string, string] => pair !== undefined && pair[1] !== '').map(([n, v]) => [n, encode(v)] as [string, string])),
    body: model.body ? validJson('', model.body.schema) : fc.constant(undefined),
  });
}

function caseFor(model: OperationModel): fc.Arbitrary<Case> {
  return fc.tuple(validRequest(model), fc.oneof(...breakings(model))).map(([request, broken]) => {
    const segments = { ...Object.fromEntries(Object.entries(request.path).map(([k, v]) => [k, encode(v)])), ...broken.path };
    const pathname = model.template.replace(/\{([^}]+)\}/g, (_, name: string) => segments[name] ?? '');
    const pairs = broken.query ? broken.query(request.query) : request.query;
    const search = pairs.map(([n, v]) => `${encode(n)}=${v}`).join('&');
    const valid = request.body === undefined ? undefined : JSON.stringify(request.body);
    const body = (broken.body ? broken.body(request.body) : valid) ?? undefined;
    const contentType = broken.contentType === undefined ? 'application/json' : broken.contentType;
    const headers: Array<[string, string]> = [...(body !== undefined && contentType !== null ? [['content-type', contentType] as [string, string]] : []), ...(broken.headers ?? [])];
    return { kind: broken.kind, method: model.method, target: search ? `${pathname}?${search}` : pathname, headers, ...(body === undefined ? {} : { body }) };
  });
}

// ---------------------------------------------------------------------------------------------

describe('differential: the same bad request, straight to DingTalk and through the gateway', () => {
  it("covers every DingTalk operation of the contract (the gateway's own endpoints are not DingTalk's)", () => {
    expect(models.map((m) => m.operationId).sort()).toEqual([...dingtalkOperationsOf(contract)].map(({ operation }) => operation.operationId).sort());
    expect(models.length).toBe(h.gateway.validator.operations.length - 1); // GET /gateway/usage
  });

  describe.each(models.map((m) => [m.operationId, m] as const))('%s', (_, model) => {
    it(
      'answers every case with the same status and code both ways',
      async () => {
        const outcomes = new Map<string, number>();
        await fc.assert(
          fc.asyncProperty(caseFor(model), async (sent) => {
            const { dingtalk, gateway } = await sendBothWays(sent);
            const shown = `${sent.kind}: ${sent.method} ${sent.target.slice(0, 200)} ${JSON.stringify(sent.headers)} ${typeof sent.body === 'string' ? sent.body.slice(0, 200) : sent.body === undefined ? '(no body)' : `bytes ${Buffer.from(sent.body).toString('hex').slice(0, 200)}`}\n  DingTalk: ${dingtalk.status} ${dingtalk.text}\n  gateway:  ${gateway.status} ${gateway.text}`;
            expect({ status: gateway.status, code: gateway.code }, shown).toEqual({ status: dingtalk.status, code: dingtalk.code });
            const outcome = `${dingtalk.status} ${dingtalk.code ?? ''}`.trim();
            outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          }),
          propertyParameters(RUNS_PER_OPERATION),
        );
        // The cases reach both sides of DingTalk's answers: successes, and refusals of bad input.
        const seen = [...outcomes.keys()];
        expect(seen.some((o) => o.startsWith('400 ')), JSON.stringify([...outcomes])).toBe(true);
        expect(seen.some((o) => o === '200' || !o.startsWith('400 ')), JSON.stringify([...outcomes])).toBe(true);
      },
      propertyTimeoutMs(RUNS_PER_OPERATION),
    );
  });
});
