/**
 * The few OpenAPI 3.1 shapes the derivation and the loaders touch. Documents are plain JSON
 * values; these types name the parts we read or write and leave the rest open.
 */
export type JsonObject = { [key: string]: unknown };

export interface OpenApiDocument extends JsonObject {
  openapi: string;
  info: JsonObject;
  paths: Record<string, PathItem>;
  components?: Components;
  security?: Array<Record<string, string[]>>;
}

export interface Components extends JsonObject {
  schemas?: Record<string, JsonObject>;
  responses?: Record<string, JsonObject>;
  parameters?: Record<string, JsonObject>;
  headers?: Record<string, JsonObject>;
  examples?: Record<string, JsonObject>;
  securitySchemes?: Record<string, JsonObject>;
  requestBodies?: Record<string, JsonObject>;
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export type PathItem = Partial<Record<HttpMethod, Operation>> & JsonObject;

export interface Operation extends JsonObject {
  operationId: string;
  responses: Record<string, JsonObject>;
  security?: Array<Record<string, string[]>>;
  requestBody?: JsonObject;
  parameters?: JsonObject[];
  'x-dingtalk-permission'?: string;
}

/**
 * The operations that are DingTalk's (they name their `x-dingtalk-sdk` action), in document
 * order: in the gateway contract, all but the gateway's own endpoints.
 */
export function* dingtalkOperationsOf(doc: OpenApiDocument): Generator<{ path: string; method: HttpMethod; operation: Operation }> {
  for (const entry of operationsOf(doc)) if (entry.operation['x-dingtalk-sdk'] !== undefined) yield entry;
}

/** Every operation of a document with its path and method, in document order. */
export function* operationsOf(doc: OpenApiDocument): Generator<{ path: string; method: HttpMethod; operation: Operation }> {
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (operation) yield { path, method, operation };
    }
  }
}

/** A value of a document and where it sits (the JSON Pointer's keys, unescaped). */
export interface Located<T = JsonObject> {
  readonly value: T;
  readonly at: readonly string[];
}

/** `['paths', '/a/{b}', 'get']` → `#/paths/~1a~1{b}/get`. */
export const jsonPointer = (path: readonly string[]): string => `#/${path.map((key) => key.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;

/** Follows local `$ref`s (`#/...`) from `value`, found at `at`, to the object they name, keeping where it sits. */
export function deref(doc: OpenApiDocument, value: unknown, at: readonly string[] = []): Located {
  let current: Located = { value: value as JsonObject, at };
  for (let hops = 0; typeof current.value?.$ref === 'string'; hops++) {
    if (hops > 32) throw new Error(`spec: $ref cycle at ${jsonPointer(at)}`);
    const ref = current.value.$ref as string;
    if (!ref.startsWith('#/')) throw new Error(`spec: only local $refs are supported, got '${ref}'`);
    const path = ref.slice(2).split('/').map((key) => decodeURIComponent(key).replaceAll('~1', '/').replaceAll('~0', '~'));
    const target = path.reduce<unknown>((node, key) => (node as JsonObject | undefined)?.[key], doc);
    if (target === null || typeof target !== 'object') throw new Error(`spec: $ref '${ref}' does not resolve`);
    current = { value: target as JsonObject, at: path };
  }
  return current;
}
