/**
 * Reading an OpenAPI document while remembering where each value sits, because schemas are
 * compiled by their location (see ajv.ts) and errors at start-up should name that location.
 */
import type { JsonObject, OpenApiDocument } from '@dingtalk-gateway/spec';

/** A value of the document and its JSON Pointer path (unescaped keys). */
export interface Located<T = JsonObject> {
  readonly value: T;
  readonly path: readonly string[];
}

export const locationOf = (path: readonly string[]): string => `#/${path.map((key) => key.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;

/** Follows local `$ref`s (`#/...`) until a value that is not a reference. */
export function resolve(doc: OpenApiDocument, located: Located<unknown>): Located {
  let current = located;
  for (let hops = 0; ; hops++) {
    const value = current.value;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new Error(`expected an object at ${locationOf(current.path)}`);
    }
    const ref = (value as JsonObject).$ref;
    if (typeof ref !== 'string') return current as Located;
    if (hops > 32) throw new Error(`$ref cycle at ${locationOf(located.path)}`);
    current = pointerTarget(doc, ref);
  }
}

/** The child `key` of a located object (undefined if absent). */
export function child(parent: Located, key: string): Located<unknown> | undefined {
  const value = parent.value[key];
  return value === undefined ? undefined : { value, path: [...parent.path, key] };
}

function pointerTarget(doc: OpenApiDocument, ref: string): Located<unknown> {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported, got '${ref}'`);
  const path = ref
    .slice(2)
    .split('/')
    .map((segment) => decodeURIComponent(segment).replaceAll('~1', '/').replaceAll('~0', '~'));
  let value: unknown = doc;
  for (const key of path) {
    value = value !== null && typeof value === 'object' ? (value as JsonObject)[key] : undefined;
    if (value === undefined) throw new Error(`$ref '${ref}' does not resolve`);
  }
  return { value, path };
}

/** The schema of the `application/json` (or `+json`) content of a request body or response. */
export function jsonSchemaOf(owner: Located): Located<unknown> | undefined {
  const content = child(owner, 'content');
  if (!content) return undefined;
  const mediaType = Object.keys(content.value as JsonObject).find((type) => {
    const essence = type.split(';')[0]!.trim().toLowerCase();
    return essence === 'application/json' || essence.endsWith('+json');
  });
  const media = mediaType === undefined ? undefined : child(content as Located, mediaType);
  return media && child(media as Located, 'schema');
}
