/**
 * The gateway contract's operations as the bad-input properties need them: parameters and
 * body schema, `$ref`s resolved, read from the built contract (never hard-coded), plus
 * fast-check arbitraries for values a schema accepts and values it refuses. Test code only.
 */
import { type OpenApiDocument, deref as specDeref, dingtalkOperationsOf } from '@dingtalk-gateway/spec';
import { seeded } from '@dingtalk-gateway/sandbox/seed';
import fc from 'fast-check';

export type Schema = Record<string, unknown>;

export interface ParameterModel {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  schema: Schema;
}

export interface OperationModel {
  operationId: string;
  method: string;
  template: string;
  parameters: ParameterModel[];
  body: { schema: Schema; required: boolean } | undefined;
}

/** The value `value` names, following its `$ref`s (the spec package's `deref`). */
const deref = (doc: OpenApiDocument, value: unknown): Schema => specDeref(doc, value).value as Schema;

/** A schema with its top-level `$ref` and its properties' `$ref`s resolved, recursively. */
function resolveSchema(doc: OpenApiDocument, schema: unknown): Schema {
  const resolved = { ...deref(doc, schema) };
  if (resolved.properties) {
    resolved.properties = Object.fromEntries(Object.entries(resolved.properties as Record<string, unknown>).map(([k, v]) => [k, resolveSchema(doc, v)]));
  }
  if (resolved.items) resolved.items = resolveSchema(doc, resolved.items);
  return resolved;
}

/** DingTalk's operations of the contract (the ones the gateway forwards; not its own endpoints). */
export function operationModels(doc: OpenApiDocument): OperationModel[] {
  return [...dingtalkOperationsOf(doc)].map(({ path, method, operation }) => {
    // DingTalk's input: path and query. The header parameters are the gateway's own (Cache-Control, Idempotency-Key).
    const declared = ((operation.parameters ?? []) as unknown[]).map((p) => deref(doc, p)).filter((parameter) => parameter.in !== 'header');
    const parameters = declared.map((parameter) => {
      if (parameter.in !== 'path' && parameter.in !== 'query') throw new Error(`unsupported parameter location ${String(parameter.in)}`);
      return { name: String(parameter.name), in: parameter.in, required: parameter.required === true, schema: resolveSchema(doc, parameter.schema) } satisfies ParameterModel;
    });
    let body: OperationModel['body'];
    if (operation.requestBody) {
      const requestBody = deref(doc, operation.requestBody);
      const content = requestBody.content as Record<string, { schema: unknown }>;
      const json = content['application/json'];
      if (!json) throw new Error(`${operation.operationId}: request body without an application/json schema`);
      body = { schema: resolveSchema(doc, json.schema), required: requestBody.required === true };
    }
    return { operationId: operation.operationId, method: method.toUpperCase(), template: path, parameters, body };
  });
}

/** The gateway's own error codes, as the contract lists them (`GatewayErrorCode`). */
export function gatewayErrorCodes(doc: OpenApiDocument): ReadonlySet<string> {
  const schema = deref(doc, { $ref: '#/components/schemas/GatewayErrorCode' });
  const codes = schema.enum as string[] | undefined;
  if (!codes || codes.length === 0) throw new Error('the contract lists no GatewayErrorCode');
  return new Set(codes);
}

// ---------------------------------------------------------------------------------------------
// Values.

/** Realistic values by field name, so that valid requests also get DingTalk's 200s, not only its refusals. */
const REALISTIC: Record<string, readonly string[]> = {
  operatorId: [seeded.users.alice.unionId, seeded.users.bob.unionId, seeded.users.carol.unionId],
  unionId: [seeded.users.alice.unionId, seeded.users.bob.unionId],
  workspaceId: [seeded.workspaces.handbook.workspaceId, seeded.workspaces.roadmap.workspaceId, seeded.workspaces.designSystem.workspaceId, seeded.workspaces.archived.workspaceId],
  teamId: [seeded.teams.engineering.teamId],
  parentNodeId: [seeded.nodes.onboardingFolder, seeded.nodes.architectureDoc],
  templateId: [seeded.templates.weeklyReport.templateId, seeded.templates.retro.templateId],
};

/** Unicode text without lone surrogates (they cannot be percent-encoded). */
const text = (minLength: number, maxLength = 24) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength, maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength, maxLength }) },
    { weight: 1, arbitrary: fc.constantFrom('钉钉知识库', 'Ｆｕｌｌｗｉｄｔｈ', 'e\u0301', '👩‍💻', 'a b', 'a+b', '%', '%zz', '&=?#', '/..', "'; DROP TABLE x;--", '<script>').filter((s) => s.length >= minLength) },
  );

/** A string the schema accepts (as sent on the wire, before percent-encoding). */
export function validString(name: string, schema: Schema, options: { pathSegment?: boolean } = {}): fc.Arbitrary<string> {
  const type = schema.type;
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as string[]));
  if (type === 'boolean') return fc.constantFrom('true', 'false');
  if (type === 'integer' || type === 'number') {
    const min = typeof schema.minimum === 'number' ? schema.minimum : -(2 ** 31);
    const max = typeof schema.maximum === 'number' ? schema.maximum : 2 ** 31 - 1;
    return fc.integer({ min, max }).map(String);
  }
  if (type !== 'string') throw new Error(`no generator for a parameter of type ${String(type)}`);
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const random = text(Math.max(minLength, options.pathSegment ? 1 : 0));
  // A path segment of "." or ".." is a dot segment, removed by every URL parser: not a value.
  const usable = options.pathSegment ? random.filter((s) => s !== '.' && s !== '..') : random;
  const realistic = REALISTIC[name];
  return realistic ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...realistic) }, { weight: 1, arbitrary: usable }) : usable;
}

/** A string the schema refuses, or undefined when every string is acceptable. */
export function invalidString(schema: Schema): fc.Arbitrary<string> | undefined {
  const type = schema.type;
  if (Array.isArray(schema.enum)) {
    const allowed = new Set(schema.enum as string[]);
    return fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom(...[...allowed].map((v) => v.toLowerCase()), '', ' ')).filter((s) => !allowed.has(s));
  }
  if (type === 'boolean') return fc.constantFrom('1', '0', 'yes', 'TRUE', 'True', '', ' true', 'null', 'on');
  if (type === 'integer' || type === 'number') {
    const outOfRange: Array<fc.Arbitrary<string>> = [];
    if (typeof schema.minimum === 'number') outOfRange.push(fc.bigInt({ min: -(10n ** 30n), max: BigInt(schema.minimum) - 1n }).map(String));
    if (typeof schema.maximum === 'number') outOfRange.push(fc.bigInt({ min: BigInt(schema.maximum) + 1n, max: 10n ** 30n }).map(String));
    const notIntegers = fc.constantFrom('1.5', 'abc', '', '1e1', ' 1', '0x10', 'NaN', 'Infinity', '-Infinity', '+1', '１', '1_0', '9'.repeat(400), '[]', '{}');
    return fc.oneof(notIntegers, ...outOfRange);
  }
  if (type === 'string' && typeof schema.minLength === 'number' && schema.minLength > 0) return fc.constant('');
  return undefined;
}

/** A JSON value the schema accepts (extra properties included: the contract allows them). */
export function validJson(name: string, schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  const type = schema.type;
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if (type === 'string') {
    const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
    const realistic = REALISTIC[name];
    const random = fc.oneof(text(minLength), fc.string({ unit: 'binary', minLength, maxLength: 16 }));
    return realistic ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...realistic) }, { weight: 1, arbitrary: random }) : random;
  }
  if (type === 'boolean') return fc.boolean();
  if (type === 'integer') return fc.integer({ min: (schema.minimum as number | undefined) ?? -(2 ** 31), max: (schema.maximum as number | undefined) ?? 2 ** 31 - 1 });
  if (type === 'object') {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const required = new Set((schema.required ?? []) as string[]);
    const declared = Object.fromEntries(
      Object.entries(properties).map(([key, child]) => [key, required.has(key) ? validJson(key, child, depth + 1) : fc.option(validJson(key, child, depth + 1), { nil: undefined })]),
    );
    const extras = depth === 0 ? fc.dictionary(fc.string({ maxLength: 10 }).filter((k) => !(k in properties)), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }) : fc.constant({});
    return fc.tuple(fc.record(declared), extras).map(([values, extra]) => {
      const out: Record<string, unknown> = {};
      // defineProperty: an extra key named "__proto__" must be an own property, as JSON.parse makes it.
      for (const [k, v] of Object.entries(extra)) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      for (const [k, v] of Object.entries(values)) if (v !== undefined) out[k] = v;
      return out;
    });
  }
  throw new Error(`no generator for a body of type ${String(type)}`);
}

export type BodyMutation = { kind: string; body: unknown };

/** A body the schema refuses, with what was broken. */
export function invalidJsonBody(schema: Schema): fc.Arbitrary<BodyMutation> {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = (schema.required ?? []) as string[];
  const notAnObject = fc.oneof(fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }), fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
  const wrongTypeFor = (child: Schema): fc.Arbitrary<unknown> => {
    const choices: Array<fc.Arbitrary<unknown>> = [];
    if (child.type !== 'string') choices.push(fc.string());
    if (child.type !== 'object') choices.push(fc.dictionary(fc.string({ maxLength: 5 }), fc.string(), { maxKeys: 2 }));
    choices.push(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }));
    const invalid = child.type === 'string' ? invalidString(child) : undefined;
    if (invalid) choices.push(invalid);
    return fc.oneof(...choices);
  };
  const mutations: Array<fc.Arbitrary<BodyMutation>> = [notAnObject.map((body) => ({ kind: 'not an object', body }))];
  for (const key of required) {
    mutations.push(validJson('', schema).map((body) => {
      const copy = { ...(body as Record<string, unknown>) };
      delete copy[key];
      return { kind: `without required ${key}`, body: copy };
    }));
  }
  for (const [key, child] of Object.entries(properties)) {
    mutations.push(fc.tuple(validJson('', schema), wrongTypeFor(child)).map(([body, bad]) => ({ kind: `${key} of a wrong type or value`, body: { ...(body as object), [key]: bad } })));
    const nested = (child.properties ?? {}) as Record<string, Schema>;
    for (const [inner, innerSchema] of Object.entries(nested)) {
      mutations.push(
        fc.tuple(validJson('', schema), wrongTypeFor(innerSchema)).map(([body, bad]) => ({ kind: `${key}.${inner} of a wrong type`, body: { ...(body as object), [key]: { [inner]: bad } } })),
      );
    }
  }
  return fc.oneof(...mutations);
}
