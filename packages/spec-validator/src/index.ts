/**
 * Runtime validation compiled from the spec itself: route matching and request validation for
 * the gateway's hot path, response validation for the sandbox's contract tests. No schema is
 * written by hand: every check is an Ajv function compiled, once, from the OpenAPI document.
 *
 * ```ts
 * import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';
 * import { createSpecValidator } from '@dingtalk-gateway/spec-validator';
 *
 * const validator = createSpecValidator(loadGatewayContract());
 * const match = validator.match('GET', url.pathname);
 * if (match.kind === 'notFound') return notFound();
 * if (match.kind === 'methodNotAllowed') return methodNotAllowed(match.allowed);
 * const result = validator.validateRequest(match.operation, {
 *   pathParams: match.pathParams,
 *   query: url.searchParams,
 *   body: bytes.byteLength > 0 ? { bytes, contentType: headers.get('content-type') ?? undefined } : undefined,
 * });
 * // DingTalk's own answer to this bad input, e.g. 400 paramError.orderBy, and a message naming the field:
 * if (!result.ok) return dingtalkError(result.status, result.code, result.message);
 * result.body; // the body as parsed JSON, exactly as validated
 *
 * validator.validateResponse('getWorkspace', 200, await response.json()); // { ok: true } | { ok: false, errors }
 * ```
 *
 * Decisions (see the files for the reasons):
 * - Every refusal carries the status and code DingTalk answers for that input, from the spec's
 *   `x-dingtalk-invalid-input` (invalid-input.ts); a spec whose rule names a code the operation
 *   does not document fails at construction.
 * - Repeated query keys of a declared parameter are refused; a query parameter sent empty
 *   counts as not sent (request-validator.ts).
 * - Undeclared query parameters are ignored and left out of the validated `query`, unless
 *   `unknownQueryParameters: 'reject'` (request-validator.ts).
 * - The body is read only when declared as JSON and not encoded, strictly as UTF-8, with no
 *   key twice in one object (request-body.ts); anything else is a body that cannot be read.
 * - Body properties the schema does not list are allowed, as JSON Schema and OpenAPI mean
 *   (no `additionalProperties: false` in the spec); the body is never modified.
 * - A body on an operation that declares none is refused; a required body that is missing or
 *   empty is refused as `body is required`.
 * - `int32`/`int64` are checked as integer ranges; any other `format` fails at construction
 *   rather than being silently skipped (ajv.ts).
 * - Header and cookie parameters, array/object parameters and non-JSON bodies are not
 *   supported: a document using them fails at construction, never silently unvalidated.
 */
import { type OpenApiDocument, meteringOf, operationsOf } from '@dingtalk-gateway/spec';
import { type SchemaCompiler, createSchemaCompiler } from './ajv.js';
export { type SchemaCompiler, precompiledSchemaCompiler } from './ajv.js';
import { PathMatcher, type RouteMatch } from './path-matcher.js';
import type { InputProblem } from './invalid-input.js';
import { type RequestError, type RequestInput, type RequestValidation, RequestValidator, type RequestValidatorOptions } from './request-validator.js';
import { ResponseValidator, type ResponseValidation } from './response-validator.js';

export type { InputProblem } from './invalid-input.js';
export type { RouteMatch } from './path-matcher.js';
export { type BodyReading, type RequestBody, isJsonMediaType, readJsonBody } from './request-body.js';
export { type ParameterValue, type RequestError, type RequestInput, type RequestValidation, queryOf } from './request-validator.js';
export type { ResponseValidation } from './response-validator.js';

/** An operation of the document, as the gateway needs it per request. */
export interface OperationInfo {
  readonly operationId: string;
  /** Upper-case, e.g. `GET`. */
  readonly method: string;
  /** The OpenAPI path template, e.g. `/v2.0/wiki/workspaces/{workspaceId}`. */
  readonly pathTemplate: string;
  /** `x-dingtalk-permission`: the DingTalk permission the operation needs, if declared. */
  readonly permission: string | undefined;
  /** Whether the operation declares a request body. */
  readonly hasBody: boolean;
  /** Whether its calls count towards the org's monthly call quota (`x-dingtalk-metered`). */
  readonly metered: boolean;
  readonly bodyRequired: boolean;
}

export interface SpecValidatorOptions extends RequestValidatorOptions {
  /**
   * Where each schema's validate function comes from. Default: Ajv compiles them now (code
   * generated at run time, which Workers forbid); `precompiledSchemaCompiler` takes them from
   * code generated at build time (`@dingtalk-gateway/spec-validator/gateway-contract`).
   */
  compilers?: { request: SchemaCompiler; response: SchemaCompiler };
}

export interface SpecValidator {
  /** Every operation of the document, in document order. */
  readonly operations: readonly OperationInfo[];
  operation(operationId: string): OperationInfo | undefined;
  /** `path` is the URL's pathname (no query string), still percent-encoded. `method` in any case. */
  match(method: string, path: string): RouteMatch<OperationInfo>;
  /** The first problem with the request, or the coerced query parameters and parsed body. Never throws for a request, however malformed. */
  validateRequest(operation: OperationInfo, request: RequestInput): RequestValidation;
  /**
   * A refusal of one field of the operation's input with DingTalk's status and code for it, for
   * a rule no schema states (`problem`: the field is missing or of the wrong type, or its value
   * is refused). `field` as in `RequestError`: `query.operatorId`, `body.name`, `body`.
   */
  refuse(operation: OperationInfo, field: string, problem: InputProblem, message: string): RequestError;
  /** Throws only for an operationId the document does not have. */
  validateResponse(operationId: string, status: number, body: unknown): ResponseValidation;
}

export function createSpecValidator(doc: OpenApiDocument, options: SpecValidatorOptions = {}): SpecValidator {
  // Requests want the first error fast; responses (tests) want all of them.
  const requestCompiler = options.compilers?.request ?? createSchemaCompiler(doc, { allErrors: false });
  const responseCompiler = options.compilers?.response ?? createSchemaCompiler(doc, { allErrors: true });

  const operations: OperationInfo[] = [];
  const metering = meteringOf(doc);
  const compiled = new Map<string, { request: RequestValidator; response: ResponseValidator }>();
  for (const { path, method, operation } of operationsOf(doc)) {
    const { operationId } = operation;
    if (typeof operationId !== 'string' || operationId === '') throw new Error(`${method.toUpperCase()} ${path} has no operationId`);
    if (compiled.has(operationId)) throw new Error(`operationId '${operationId}' is used twice`);
    const request = new RequestValidator(doc, path, method, requestCompiler, options);
    const response = new ResponseValidator(doc, { value: operation, path: ['paths', path, method] }, responseCompiler, operationId);
    compiled.set(operationId, { request, response });
    operations.push(
      Object.freeze({
        operationId,
        method: method.toUpperCase(),
        pathTemplate: path,
        permission: operation['x-dingtalk-permission'],
        hasBody: request.hasBody,
        metered: metering.isMetered(operationId),
        bodyRequired: request.bodyRequired,
      }),
    );
  }

  const matcher = new PathMatcher(operations.map((operation) => ({ method: operation.method, template: operation.pathTemplate, value: operation })));
  const byId = new Map(operations.map((operation) => [operation.operationId, operation]));

  const compiledFor = (operationId: string) => {
    const entry = compiled.get(operationId);
    if (!entry) throw new Error(`unknown operation '${operationId}'`);
    return entry;
  };

  return {
    operations: Object.freeze(operations),
    operation: (operationId) => byId.get(operationId),
    match: (method, path) => matcher.match(method, path),
    validateRequest: (operation, request) => compiledFor(operation.operationId).request.validate(request),
    refuse: (operation, field, problem, message) => compiledFor(operation.operationId).request.refuse(field, problem, message),
    validateResponse: (operationId, status, body) => compiledFor(operationId).response.validate(status, body),
  };
}
