/**
 * The error codes an operation documents, per HTTP status: every string of the `enum`s that
 * constrain the error body's `code` (through `$ref`, `allOf`, `anyOf`, `oneOf`), each with the
 * message of the response's example for it when there is one.
 *
 * ```ts
 * const errors = documentedErrorCodes(doc, doc.paths['/v1.0/drive/spaces']!.post!);
 * errors.get(400)?.has('name.invalid'); // true
 * errors.get(400)?.get('param.error'); // 'Invalid Param' (the example's message)
 * ```
 */
import { type JsonObject, type OpenApiDocument, type Operation, deref } from './openapi-document.js';

export type DocumentedErrorCodes = ReadonlyMap<number, ReadonlyMap<string, string | undefined>>;

export function documentedErrorCodes(doc: OpenApiDocument, operation: Operation): DocumentedErrorCodes {
  const resolve: Resolver = (value) => deref(doc, value).value;
  const errors = new Map<number, Map<string, string | undefined>>();
  for (const [status, response] of Object.entries(operation.responses)) {
    if (!/^[45]\d\d$/.test(status)) continue;
    const media = (resolve(response).content as Record<string, JsonObject> | undefined)?.['application/json'];
    if (!media) continue;
    const messages = exampleMessages(media, resolve);
    errors.set(Number(status), new Map(codesOf(media.schema as JsonObject, resolve).map((code) => [code, messages.get(code)])));
  }
  return errors;
}

type Resolver = (value: JsonObject) => JsonObject;

/** The strings of the enums constraining the property `code` of an error body schema. */
function codesOf(schema: JsonObject, resolve: Resolver): string[] {
  const s = resolve(schema);
  const codes: string[] = [];
  const code = (s.properties as Record<string, JsonObject> | undefined)?.code;
  if (code) codes.push(...enumsOf(code, resolve));
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    for (const sub of (s[key] as JsonObject[] | undefined) ?? []) codes.push(...codesOf(sub, resolve));
  }
  return codes;
}

function enumsOf(schema: JsonObject, resolve: Resolver): string[] {
  const s = resolve(schema);
  const values = Array.isArray(s.enum) ? [...(s.enum as string[])] : [];
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    for (const sub of (s[key] as JsonObject[] | undefined) ?? []) values.push(...enumsOf(sub, resolve));
  }
  return values;
}

function exampleMessages(media: JsonObject, resolve: Resolver): Map<string, string> {
  const messages = new Map<string, string>();
  const add = (value: unknown) => {
    const v = value as { code?: unknown; message?: unknown } | undefined;
    if (typeof v?.code === 'string' && typeof v.message === 'string') messages.set(v.code, v.message);
  };
  add(media.example);
  for (const example of Object.values((media.examples as Record<string, JsonObject> | undefined) ?? {})) add(resolve(example).value);
  return messages;
}
