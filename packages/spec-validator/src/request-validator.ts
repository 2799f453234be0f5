/**
 * Request validation for one operation: its path and query parameters and its JSON body,
 * each checked by an Ajv function compiled at start-up from the schema the spec declares, and
 * every refusal answered with DingTalk's own status and code for that input (the spec's
 * `x-dingtalk-invalid-input`, see invalid-input.ts).
 *
 * Parameter values arrive as strings and are coerced by the parameter schema's `type` before
 * validation: `integer`/`number` when they look like one, `boolean` only from `true`/`false`.
 * A value that does not coerce stays a string, so the schema rejects it with the usual
 * message ("query parameter 'maxResults' must be an integer"). A query parameter sent empty
 * (`?teamId=`) counts as not sent, as DingTalk reads it. The body is read by request-body.ts.
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { type HttpMethod, type JsonObject, type OpenApiDocument, invalidInputRules } from '@dingtalk-gateway/spec';
import type { SchemaCompiler } from './ajv.js';
import { child, jsonSchemaOf, type Located, locationOf, resolve } from './document.js';
import { describeErrors, type Subject } from './error-message.js';
import { type InputProblem, InvalidInputAnswers, problemOf } from './invalid-input.js';
import { type RequestBody, readJsonBody } from './request-body.js';

export type ParameterValue = string | number | boolean;

/** The query of a request URL as sent (no `URL` object: this is on every request's path). */
export function queryOf(url: string): URLSearchParams {
  const start = url.indexOf('?');
  return new URLSearchParams(start === -1 ? '' : url.slice(start + 1));
}

export interface RequestInput {
  /** Decoded path parameters, as `match()` returns them. */
  readonly pathParams?: Readonly<Record<string, string>>;
  readonly query?: URLSearchParams;
  /** The body as received; `undefined` when the request has none (an empty body is none). */
  readonly body?: RequestBody | undefined;
}

export type RequestValidation =
  | {
      readonly ok: true;
      /** The operation's declared query parameters, coerced, with schema defaults filled in. Undeclared ones are left out. */
      readonly query: Record<string, ParameterValue>;
      /** The body as parsed JSON, exactly as validated; `undefined` when there is none. */
      readonly body: unknown;
    }
  | RequestError;

export interface RequestError {
  readonly ok: false;
  /** DingTalk's status for this bad input, e.g. 400. */
  readonly status: number;
  /** DingTalk's code for this bad input, e.g. `paramError.orderBy`. */
  readonly code: string;
  /** One sentence naming the field, e.g. `query parameter 'maxResults' must be <= 30`. */
  readonly message: string;
  /** `query.maxResults`, `path.workspaceId`, `body.option.teamId` or `body`. */
  readonly field: string;
}

export interface RequestValidatorOptions {
  /**
   * What to do with query parameters the operation does not declare. `ignore` (default):
   * DingTalk ignores them too, and proxies or HTTP clients add cache-busters; they are left
   * out of the validated `query`, so a caller that forwards only that never passes them on.
   * `reject`: answer `query parameter 'x' is not allowed`.
   */
  readonly unknownQueryParameters?: 'ignore' | 'reject';
}

interface ParameterRule {
  readonly name: string;
  readonly subject: Subject;
  readonly coerce: (raw: string) => ParameterValue;
  readonly validate: ValidateFunction;
  readonly required: boolean;
  readonly defaultValue: ParameterValue | undefined;
  // Failures that need no details are built once.
  readonly missing: RequestError;
  readonly repeated: RequestError;
}

export class RequestValidator {
  private readonly path: readonly ParameterRule[];
  private readonly query: readonly ParameterRule[];
  private readonly queryNames: ReadonlySet<string>;
  private readonly body: { readonly validate: ValidateFunction; readonly required: boolean } | undefined;
  private readonly rejectUnknownQuery: boolean;
  private readonly answers: InvalidInputAnswers;
  private readonly missingBody: RequestError;
  private readonly unexpectedBody: RequestError;

  constructor(doc: OpenApiDocument, template: string, method: HttpMethod, compiler: SchemaCompiler, options: RequestValidatorOptions = {}) {
    const where = `${method.toUpperCase()} ${template}`;
    const item: Located = { value: doc.paths[template]!, path: ['paths', template] };
    const operation: Located = { value: doc.paths[template]![method]!, path: ['paths', template, method] };
    const parameters = parametersOf(doc, item, operation);
    this.answers = new InvalidInputAnswers(invalidInputRules(doc, template, method));
    this.missingBody = this.refuse('body', 'presence', 'body is required');
    // A body where the operation declares none is a caller bug; passing it on would have
    // DingTalk (or a proxy on the way) ignore or refuse it unpredictably.
    this.unexpectedBody = this.refuse('body', 'presence', 'body is not allowed: this operation takes no body');

    for (const parameter of parameters) {
      const at = String(parameter.value.in);
      // Header parameters are the gateway's own (Cache-Control, Idempotency-Key): its steps read
      // and check them; DingTalk's input is in the path, the query and the body.
      if (at !== 'path' && at !== 'query' && at !== 'header') {
        throw new Error(`${where}: ${at} parameter '${String(parameter.value.name)}' is not supported by the validator (only path, query and the gateway's own headers)`);
      }
    }
    const rule = (p: Located) => parameterRule(doc, p, compiler, where, (field, message) => this.refuse(field, 'presence', message));
    this.path = parameters.filter((p) => p.value.in === 'path').map(rule);
    this.query = parameters.filter((p) => p.value.in === 'query').map(rule);
    this.queryNames = new Set(this.query.map((rule) => rule.name));
    this.rejectUnknownQuery = options.unknownQueryParameters === 'reject';

    const templateNames = [...template.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1]!).sort();
    const declaredNames = this.path.map((rule) => rule.name).sort();
    if (templateNames.join() !== declaredNames.join()) {
      throw new Error(`${where}: the template's parameters {${templateNames.join(', ')}} are not the declared path parameters {${declaredNames.join(', ')}}`);
    }
    for (const rule of this.path) if (!rule.required) throw new Error(`${where}: path parameter '${rule.name}' must be required`);

    const requestBody = child(operation, 'requestBody');
    if (requestBody) {
      const body = resolve(doc, requestBody);
      const schema = jsonSchemaOf(body);
      if (!schema) throw new Error(`${where}: the request body must have an application/json schema (${locationOf(body.path)})`);
      this.body = { validate: compiler.compile(schema.path), required: body.value.required === true };
    }
  }

  get hasBody(): boolean {
    return this.body !== undefined;
  }

  get bodyRequired(): boolean {
    return this.body?.required === true;
  }

  validate(input: RequestInput): RequestValidation {
    for (const rule of this.path) {
      const raw = input.pathParams?.[rule.name];
      if (raw === undefined) return rule.missing;
      const error = this.check(rule, rule.coerce(raw));
      if (error) return error;
    }

    const query: Record<string, ParameterValue> = {};
    for (const rule of this.query) {
      const values = input.query ? input.query.getAll(rule.name) : [];
      // Servers disagree on which of repeated values wins; validating one while DingTalk
      // reads another would let an unchecked value through, so repetition is refused.
      if (values.length > 1) return rule.repeated;
      if (values.length === 0 || values[0] === '') {
        if (rule.required) return rule.missing;
        if (rule.defaultValue !== undefined) query[rule.name] = rule.defaultValue;
        continue;
      }
      const value = rule.coerce(values[0]!);
      const error = this.check(rule, value);
      if (error) return error;
      query[rule.name] = value;
    }
    if (this.rejectUnknownQuery && input.query) {
      for (const name of input.query.keys()) {
        if (!this.queryNames.has(name)) return this.refuse(`query.${name}`, 'presence', `query parameter '${name}' is not allowed`);
      }
    }

    if (input.body === undefined || input.body.bytes.byteLength === 0) {
      return this.body?.required ? this.missingBody : { ok: true, query, body: undefined };
    }
    if (!this.body) return this.unexpectedBody;
    const read = readJsonBody(input.body);
    if (!read.ok) return this.refuse('body', 'presence', read.message);
    if (!this.body.validate(read.value)) return this.failure(this.body.validate, BODY);
    return { ok: true, query, body: read.value };
  }

  /**
   * A refusal of this operation's input with DingTalk's status and code for that field, for
   * checks no schema states (e.g. the sandbox's own rules about a value).
   */
  refuse(field: string, problem: InputProblem, message: string): RequestError {
    const { status, code } = this.answers.answer(field, problem);
    return Object.freeze({ ok: false, status, code, message, field });
  }

  private check(rule: ParameterRule, value: ParameterValue): RequestError | undefined {
    return rule.validate(value) ? undefined : this.failure(rule.validate, rule.subject);
  }

  private failure(validate: ValidateFunction, subject: Subject): RequestError {
    const [first] = describeErrors(validate.errors, subject);
    if (!first) return this.refuse(subject.field, 'value', `${subject.label} is invalid`);
    return this.refuse(first.field, problemOf(first.keyword), first.message);
  }
}

const BODY: Subject = { label: 'body', field: 'body' };

/** Path-item parameters, overridden by operation parameters of the same name and location. */
function parametersOf(doc: OpenApiDocument, item: Located, operation: Located): Located[] {
  const byKey = new Map<string, Located>();
  for (const owner of [item, operation]) {
    const list = child(owner, 'parameters');
    if (!list) continue;
    (list.value as unknown[]).forEach((value, index) => {
      const parameter = resolve(doc, { value, path: [...list.path, String(index)] });
      byKey.set(`${String(parameter.value.in)}:${String(parameter.value.name)}`, parameter);
    });
  }
  return [...byKey.values()];
}

const INTEGER = /^-?\d+$/;
const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

const COERCE: Record<string, (raw: string) => ParameterValue> = {
  string: (raw) => raw,
  integer: (raw) => (INTEGER.test(raw) ? Number(raw) : raw),
  number: (raw) => (NUMBER.test(raw) ? Number(raw) : raw),
  // Only the spellings DingTalk's SDK sends; `yes`/`1` are more likely mistakes than intent.
  boolean: (raw) => (raw === 'true' ? true : raw === 'false' ? false : raw),
};

function parameterRule(
  doc: OpenApiDocument,
  parameter: Located,
  compiler: SchemaCompiler,
  where: string,
  refuse: (field: string, message: string) => RequestError,
): ParameterRule {
  const name = String(parameter.value.name);
  const at = String(parameter.value.in);
  const schemaAt = child(parameter, 'schema');
  if (!schemaAt) throw new Error(`${where}: ${at} parameter '${name}' has no schema (content-typed parameters are not supported)`);
  const schema = resolve(doc, schemaAt).value;
  const type = primitiveType(schema);
  if (!type) {
    throw new Error(`${where}: ${at} parameter '${name}' must have a string, integer, number or boolean schema (${locationOf(schemaAt.path)})`);
  }
  const subject: Subject = { label: `${at} parameter '${name}'`, field: `${at}.${name}` };
  const defaultValue = schema.default as ParameterValue | undefined;
  return {
    name,
    subject,
    coerce: COERCE[type]!,
    validate: compiler.compile(schemaAt.path),
    required: parameter.value.required === true,
    defaultValue,
    missing: refuse(subject.field, `${subject.label} is required`),
    repeated: refuse(subject.field, `${subject.label} must not be repeated`),
  };
}

/** The scalar type a parameter's string is coerced to; undefined for arrays and objects. */
function primitiveType(schema: JsonObject): string | undefined {
  const declared = Array.isArray(schema.type) ? schema.type.filter((t) => t !== 'null') : schema.type === undefined ? [] : [schema.type];
  if (declared.length === 0) return 'string';
  if (declared.length > 1) return undefined;
  const [type] = declared as string[];
  return type! in COERCE ? type : undefined;
}
