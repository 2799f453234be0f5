/**
 * The one place Ajv is configured. The whole OpenAPI document is added to Ajv once, under a
 * private id, and every schema is compiled by reference to where it sits in the document, so
 * `$ref: '#/components/schemas/X'` resolves exactly as the spec means it and no schema is
 * ever copied or rewritten.
 */
import { Ajv2020, type CodeOptions, type ValidateFunction } from 'ajv/dist/2020.js';
import type { OpenApiDocument } from '@dingtalk-gateway/spec';

const DOCUMENT_ID = 'urn:dingtalk-gateway:openapi-document';

// Schema Object fields OpenAPI 3.1 adds to JSON Schema 2020-12. They only annotate.
const OPENAPI_SCHEMA_ANNOTATIONS = ['example', 'discriminator', 'xml', 'externalDocs'];

// Resolving a `$ref` into the document makes Ajv compile the document root as a schema, so
// its top-level fields must be known keywords. Registering them as annotations keeps strict
// mode on for everything else (a typo such as `minLenght` in a schema still fails at start).
const OPENAPI_DOCUMENT_FIELDS = ['openapi', 'info', 'jsonSchemaDialect', 'servers', 'paths', 'webhooks', 'components', 'security', 'tags'];

const TWO_31 = 2 ** 31;
const TWO_63 = 2 ** 63;

/**
 * `int32`/`int64` are OpenAPI's formats, checked as ranges so an out-of-range number is
 * caught. Whole-ness is left to `type: integer`, which OpenAPI pairs them with, so a
 * fraction is reported once ("must be an integer"), not twice.
 */
export const OPENAPI_FORMATS = {
  int32: { type: 'number' as const, validate: (n: number) => n >= -TWO_31 && n < TWO_31 },
  // Past 2^53 a parsed JSON number has already lost precision; the range check is what remains.
  int64: { type: 'number' as const, validate: (n: number) => n >= -TWO_63 && n < TWO_63 },
};

/** `OPENAPI_FORMATS` as source code, for validators generated at build time (`standalone.ts`); a test holds the two to the same verdicts. */
export const OPENAPI_FORMATS_SOURCE = `{ int32: { type: "number", validate: (n) => n >= ${-TWO_31} && n < ${TWO_31} }, int64: { type: "number", validate: (n) => n >= ${-TWO_63} && n < ${TWO_63} } }`;

export interface SchemaCompiler {
  /** Compiles the schema at this JSON Pointer path of the document (once per path). */
  compile(path: readonly string[]): ValidateFunction;
}

/** The document's Ajv, as the run-time compiler and the build-time code generator both use it. */
export function documentAjv(doc: OpenApiDocument, options: { allErrors: boolean; code?: CodeOptions }): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: options.allErrors,
    strictSchema: true,
    strictNumbers: true,
    strictTuples: true,
    // OpenAPI documents idiomatically write `allOf: [{$ref}, {properties: ...}]` without
    // repeating `type: object`, and `required` next to properties defined in another branch.
    strictTypes: false,
    strictRequired: false,
    formats: OPENAPI_FORMATS,
    // The document's own `x-*` fields are read as keywords too when the root is compiled.
    keywords: [...new Set([...OPENAPI_SCHEMA_ANNOTATIONS, ...OPENAPI_DOCUMENT_FIELDS, ...extensionKeywords(doc), ...Object.keys(doc).filter((key) => key.startsWith('x-'))])],
    ...(options.code ? { code: options.code } : {}),
  });
  ajv.addSchema(doc, DOCUMENT_ID);
  return ajv;
}

/** The JSON Pointer fragment of a path in the document (`/paths/~1v2.0~1wiki~1workspaces/get/...`). */
export function fragmentOf(path: readonly string[]): string {
  return path.map((key) => `/${encodeURIComponent(key.replaceAll('~', '~0').replaceAll('/', '~1'))}`).join('');
}

/** The reference Ajv compiles for the schema at `fragment` of the document. */
export const schemaRefOf = (fragment: string): string => `${DOCUMENT_ID}#${fragment}`;

export function createSchemaCompiler(doc: OpenApiDocument, options: { allErrors: boolean }): SchemaCompiler {
  const ajv = documentAjv(doc, options);
  const compiled = new Map<string, ValidateFunction>();
  return {
    compile(path) {
      const fragment = fragmentOf(path);
      let validate = compiled.get(fragment);
      if (!validate) {
        validate = ajv.compile({ $ref: schemaRefOf(fragment) });
        compiled.set(fragment, validate);
      }
      return validate;
    },
  };
}

/** Validate functions generated at build time (`standalone.ts`), by fragment: no code is generated at run time. */
export function precompiledSchemaCompiler(validators: Readonly<Record<string, ValidateFunction>>): SchemaCompiler {
  return {
    compile(path) {
      const fragment = fragmentOf(path);
      const validate = validators[fragment];
      if (!validate) throw new Error(`no validator was generated for ${fragment}: the document changed since @dingtalk-gateway/spec-validator was built; build it again`);
      return validate;
    },
  };
}

/** `x-*` keys used inside schemas: specification extensions, which Ajv must treat as annotations. */
function extensionKeywords(doc: OpenApiDocument): string[] {
  const found = new Set<string>();
  const collect = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(collect);
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      if (key.startsWith('x-')) found.add(key);
      collect(child);
    }
  };
  const findSchemas = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(findSchemas);
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      if (key === 'schema') collect(child);
      else findSchemas(child);
    }
  };
  findSchemas(doc.paths);
  findSchemas(doc.components);
  collect(doc.components?.schemas);
  return [...found];
}
