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

/** Every operation of a document with its path and method, in document order. */
export function* operationsOf(doc: OpenApiDocument): Generator<{ path: string; method: HttpMethod; operation: Operation }> {
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (operation) yield { path, method, operation };
    }
  }
}
