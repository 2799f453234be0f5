/**
 * Response validation for one operation, for contract tests: the body must match the schema
 * declared for its status, else for its status range (`4XX`), else for `default`.
 * Compiled with `allErrors`, so a test sees every mismatch at once.
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { OpenApiDocument } from '@dingtalk-gateway/spec';
import type { SchemaCompiler } from './ajv.js';
import { child, jsonSchemaOf, type Located, resolve } from './document.js';
import { describeErrors } from './error-message.js';

export type ResponseValidation = { readonly ok: true } | { readonly ok: false; readonly errors: readonly string[] };

const OK: ResponseValidation = Object.freeze({ ok: true });
const RESPONSE_BODY = { label: 'response body', field: 'body' };

export class ResponseValidator {
  /** Per declared status key (`200`, `4XX`, `default`): its body schema, or null if it declares no JSON body. */
  private readonly byStatus = new Map<string, ValidateFunction | null>();

  constructor(
    doc: OpenApiDocument,
    operation: Located,
    compiler: SchemaCompiler,
    private readonly operationId: string,
  ) {
    const responses = child(operation, 'responses');
    for (const status of Object.keys((responses?.value as object | undefined) ?? {})) {
      const response = resolve(doc, child(responses as Located, status)!);
      const schema = jsonSchemaOf(response);
      this.byStatus.set(status.toUpperCase() === 'DEFAULT' ? 'default' : status.toUpperCase(), schema ? compiler.compile(schema.path) : null);
    }
  }

  validate(status: number, body: unknown): ResponseValidation {
    const key = String(status);
    const declared = [key, `${key[0]}XX`, 'default'].find((candidate) => this.byStatus.has(candidate));
    const validate = declared === undefined ? undefined : this.byStatus.get(declared);
    if (validate === undefined) return { ok: false, errors: [`${this.operationId} declares no response for status ${key} and no default`] };
    if (validate === null) {
      return body === undefined ? OK : { ok: false, errors: [`${this.operationId} declares no JSON body for status ${key}, but one was given`] };
    }
    if (validate(body)) return OK;
    return { ok: false, errors: describeErrors(validate.errors, RESPONSE_BODY).map((error) => error.message) };
  }
}
