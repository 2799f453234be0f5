/**
 * Reading an OpenAPI document while remembering where each value sits, because schemas are
 * compiled by their location (see ajv.ts) and errors at start-up should name that location.
 */
import { type JsonObject, type OpenApiDocument, deref, jsonPointer } from '@dingtalk-gateway/spec';
import { isJsonMediaType } from './request-body.js';

/** A value of the document and its JSON Pointer path (unescaped keys). */
export interface Located<T = JsonObject> {
  readonly value: T;
  readonly path: readonly string[];
}

export const locationOf: (path: readonly string[]) => string = jsonPointer;

/** Follows local `$ref`s (`#/...`) until a value that is not a reference, which must be an object. */
export function resolve(doc: OpenApiDocument, located: Located<unknown>): Located {
  const { value, at } = deref(doc, located.value, located.path);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`expected an object at ${locationOf(at)}`);
  return { value, path: at };
}

/** The child `key` of a located object (undefined if absent). */
export function child(parent: Located, key: string): Located<unknown> | undefined {
  const value = parent.value[key];
  return value === undefined ? undefined : { value, path: [...parent.path, key] };
}

/** The schema of the JSON (`application/json` or `+json`) content of a request body or response. */
export function jsonSchemaOf(owner: Located): Located<unknown> | undefined {
  const content = child(owner, 'content');
  if (!content) return undefined;
  const mediaType = Object.keys(content.value as JsonObject).find(isJsonMediaType);
  const media = mediaType === undefined ? undefined : child(content as Located, mediaType);
  return media && child(media as Located, 'schema');
}
