/**
 * Reads `x-dingtalk-invalid-input`, the spec's answer to "which status and code does DingTalk
 * give this bad input" (the rules are in dingtalk.yaml's description), for one operation:
 *
 * ```ts
 * const rules = invalidInputRules(doc, '/v1.0/drive/spaces', 'post');
 * rules.operation;                // { status: 400, code: 'param.error' }
 * rules.fields.get('body.name');  // { status: 400, code: 'param.error', valueCode: 'name.invalid' }
 * ```
 *
 * Fields are named as the validator names them: `query.orderBy`, `path.workspaceId`,
 * `body.option.description`, `body.items[]` (any index). Every code must be one the operation
 * documents for the status: a spec that says otherwise throws, naming where.
 */
import { documentedErrorCodes } from './error-codes.js';
import { type HttpMethod, type JsonObject, type OpenApiDocument, deref, jsonPointer as pointer } from './openapi-document.js';

export const INVALID_INPUT = 'x-dingtalk-invalid-input';

export interface InvalidInputAnswer {
  readonly status: number;
  readonly code: string;
}

export interface FieldInvalidInputRule extends InvalidInputAnswer {
  /** The code for a value that is present and of its type but refused; `code` unless the spec says. */
  readonly valueCode: string;
}

export interface InvalidInputRules {
  /** Any bad input of the operation that no rule below covers. */
  readonly operation: InvalidInputAnswer;
  /** The body as a whole: missing, unreadable, not JSON, not an object. */
  readonly body: InvalidInputAnswer;
  /** Rules of single fields, by field name. */
  readonly fields: ReadonlyMap<string, FieldInvalidInputRule>;
  /** Where each extension read sits in the document (JSON Pointer), to prove none is ignored. */
  readonly locations: readonly string[];
}

export function invalidInputRules(doc: OpenApiDocument, path: string, method: HttpMethod): InvalidInputRules {
  const operation = doc.paths[path]?.[method];
  if (!operation) throw new Error(`spec: no operation ${method.toUpperCase()} ${path}`);
  const where = `${method.toUpperCase()} ${path}`;
  const documented = documentedErrorCodes(doc, operation);
  const locations: string[] = [];
  const base = ['paths', path, method];

  const read = (owner: unknown, at: readonly string[]): JsonObject | undefined => {
    const value = (owner as JsonObject | undefined)?.[INVALID_INPUT];
    if (value === undefined) return undefined;
    const location = pointer([...at, INVALID_INPUT]);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`spec: ${location} must be an object`);
    const unknown = Object.keys(value).filter((key) => !['status', 'code', 'valueCode'].includes(key));
    if (unknown.length > 0) throw new Error(`spec: ${location} has unknown keys ${unknown.join(', ')} (status, code, valueCode)`);
    locations.push(location);
    return value as JsonObject;
  };
  const documentedCode = (code: unknown, status: number, location: string): string => {
    if (typeof code !== 'string' || code === '') throw new Error(`spec: ${location} needs a code`);
    if (!documented.get(status)?.has(code)) throw new Error(`spec: ${location}: ${where} does not document ${status} ${code}`);
    return code;
  };

  const own = read(operation, base);
  const ownLocation = pointer([...base, INVALID_INPUT]);
  if (!own) throw new Error(`spec: ${where} has no ${INVALID_INPUT} (every operation says how DingTalk answers bad input)`);
  const status = own.status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 499) {
    throw new Error(`spec: ${ownLocation} needs a status from 400 to 499`);
  }
  if (own.valueCode !== undefined) throw new Error(`spec: ${ownLocation}: valueCode belongs on a field`);
  const operationAnswer: InvalidInputAnswer = Object.freeze({ status, code: documentedCode(own.code, status, ownLocation) });

  const fieldRule = (value: JsonObject, at: readonly string[]): FieldInvalidInputRule => {
    const location = pointer([...at, INVALID_INPUT]);
    if (value.status !== undefined) throw new Error(`spec: ${location}: the status is the operation's`);
    const code = documentedCode(value.code, status, location);
    const valueCode = value.valueCode === undefined ? code : documentedCode(value.valueCode, status, location);
    return Object.freeze({ status, code, valueCode });
  };

  const fields = new Map<string, FieldInvalidInputRule>();
  const parameters = [...listed(doc.paths[path]!.parameters, ['paths', path, 'parameters']), ...listed(operation.parameters, [...base, 'parameters'])];
  for (const { value, at } of parameters) {
    const parameter = deref(doc, value, at);
    const rule = read(parameter.value, parameter.at);
    if (rule) fields.set(`${String(parameter.value.in)}.${String(parameter.value.name)}`, fieldRule(rule, parameter.at));
  }

  let body = operationAnswer;
  if (operation.requestBody) {
    const requestBody = deref(doc, operation.requestBody, [...base, 'requestBody']);
    const rule = read(requestBody.value, requestBody.at);
    if (rule) {
      if (rule.valueCode !== undefined) throw new Error(`spec: ${pointer([...requestBody.at, INVALID_INPUT])}: valueCode belongs on a field`);
      body = fieldRule(rule, requestBody.at);
    }
    const media = (requestBody.value.content as Record<string, JsonObject> | undefined)?.['application/json'];
    if (media?.schema) {
      const schemaAt = [...requestBody.at, 'content', 'application/json', 'schema'];
      walkProperties(doc, media.schema, schemaAt, 'body', (field, owner, at) => {
        const rule = read(owner, at);
        if (rule) fields.set(field, fieldRule(rule, at));
      });
    }
  }
  return { operation: operationAnswer, body: Object.freeze({ status: body.status, code: body.code }), fields, locations };
}

/** Every `x-dingtalk-invalid-input` of the document, wherever it is (JSON Pointers). */
export function invalidInputLocations(doc: OpenApiDocument): string[] {
  const found: string[] = [];
  const visit = (value: unknown, at: string[]): void => {
    if (Array.isArray(value)) return value.forEach((child, index) => visit(child, [...at, String(index)]));
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      if (key === INVALID_INPUT) found.push(pointer([...at, key]));
      else visit(child, [...at, key]);
    }
  };
  visit(doc, []);
  return found;
}

function listed(value: unknown, at: readonly string[]): Array<{ value: unknown; at: readonly string[] }> {
  return Array.isArray(value) ? value.map((item, index) => ({ value: item, at: [...at, String(index)] })) : [];
}

/**
 * Calls `visit` for every property schema of a body schema, depth first, with the field name
 * the validator uses for it. An extension may sit on the property itself or, when the property
 * is a `$ref`, on the schema it names; both are offered.
 */
function walkProperties(
  doc: OpenApiDocument,
  schema: unknown,
  at: readonly string[],
  field: string,
  visit: (field: string, owner: JsonObject, at: readonly string[]) => void,
  seen: Set<unknown> = new Set(),
): void {
  const resolved = deref(doc, schema, at);
  if (seen.has(resolved.value)) return;
  seen.add(resolved.value);
  const properties = resolved.value.properties as Record<string, JsonObject> | undefined;
  for (const [name, property] of Object.entries(properties ?? {})) {
    const propertyAt = [...resolved.at, 'properties', name];
    const child = `${field}.${name}`;
    const target = deref(doc, property, propertyAt);
    visit(child, property[INVALID_INPUT] === undefined ? target.value : property, property[INVALID_INPUT] === undefined ? target.at : propertyAt);
    walkProperties(doc, property, propertyAt, child, visit, seen);
  }
  const items = resolved.value.items;
  if (items && typeof items === 'object') {
    const itemsAt = [...resolved.at, 'items'];
    const target = deref(doc, items, itemsAt);
    visit(`${field}[]`, target.value, target.at);
    walkProperties(doc, items, itemsAt, `${field}[]`, visit, seen);
  }
  seen.delete(resolved.value);
}
