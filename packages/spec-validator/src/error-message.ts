/**
 * Turns Ajv's errors into sentences a caller can act on, naming the field in the caller's own
 * terms (`query parameter 'maxResults'`, `body property 'option.teamId'`) rather than as a
 * JSON Pointer, e.g. "body property 'docType' must be one of DOC, WORKBOOK, MIND, FOLDER".
 * Only runs on the failure path, so it may allocate freely.
 */
import type { ErrorObject } from 'ajv/dist/2020.js';

/** What the validated value is to the caller: `{ label: "query parameter 'x'", field: 'query.x' }`. */
export interface Subject {
  readonly label: string;
  readonly field: string;
}

export interface FieldError {
  /** Where, as `query.maxResults`, `path.workspaceId`, `body.option.teamId` or `body`. */
  readonly field: string;
  readonly message: string;
  /** The JSON Schema keyword that failed (`required`, `type`, `enum`, `minLength`, …). */
  readonly keyword: string;
}

export function describeErrors(errors: readonly ErrorObject[] | null | undefined, subject: Subject): FieldError[] {
  const described = simplify(errors ?? []).map((error) => ({ ...describe(error, subject), keyword: error.keyword }));
  const seen = new Set<string>();
  return described.filter((error) => !seen.has(error.message) && seen.add(error.message));
}

/**
 * A value that fails `anyOf: [{enum: A}, {$ref: enum B}]` (how the spec lists an operation's
 * error codes) gets one enum error per branch plus the `anyOf` error; one "must be one of
 * A…, B…" says the same thing. Once the branches are described, `anyOf`/`oneOf` itself adds
 * nothing, so it is kept only when nothing else explains the failure.
 */
function simplify(errors: readonly ErrorObject[]): ErrorObject[] {
  const alternativesAt = new Set(errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => e.instancePath));
  const mergedEnums = new Map<string, ErrorObject>();
  const result: ErrorObject[] = [];
  for (const error of errors) {
    if (error.keyword === 'enum' && alternativesAt.has(error.instancePath)) {
      const merged = mergedEnums.get(error.instancePath);
      const values = (error.params as { allowedValues: unknown[] }).allowedValues;
      if (merged) {
        const allowed = (merged.params as { allowedValues: unknown[] }).allowedValues;
        for (const value of values) if (!allowed.includes(value)) allowed.push(value);
        continue;
      }
      const copy = { ...error, params: { allowedValues: [...values] } };
      mergedEnums.set(error.instancePath, copy);
      result.push(copy);
      continue;
    }
    result.push(error);
  }
  const explained = result.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf');
  return explained.length > 0 ? explained : result;
}

function describe(error: ErrorObject, subject: Subject): Omit<FieldError, 'keyword'> {
  const at = fieldAt(subject, error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      return { field: joinField(at.field, missing), message: `${at.label} must have required property '${missing}'` };
    }
    case 'dependentRequired':
      return {
        field: joinField(at.field, String(params.missingProperty)),
        message: `${at.label} must have property '${String(params.missingProperty)}' when it has '${String(params.property)}'`,
      };
    case 'additionalProperties':
      return {
        field: joinField(at.field, String(params.additionalProperty)),
        message: `${at.label} must not have property '${String(params.additionalProperty)}'`,
      };
    case 'unevaluatedProperties':
      return {
        field: joinField(at.field, String(params.unevaluatedProperty)),
        message: `${at.label} must not have property '${String(params.unevaluatedProperty)}'`,
      };
    default:
      return { field: at.field, message: `${at.label} ${predicate(error)}` };
  }
}

function predicate(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type':
      return `must be ${typeNames(params.type)}`;
    case 'enum':
      return `must be one of ${(params.allowedValues as unknown[]).map(show).join(', ')}`;
    case 'const':
      return `must be ${show(params.allowedValue)}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `must be ${String(params.comparison)} ${String(params.limit)}`;
    case 'multipleOf':
      return `must be a multiple of ${String(params.multipleOf)}`;
    case 'minLength':
      return params.limit === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters long`;
    case 'maxLength':
      return `must be at most ${String(params.limit)} characters long`;
    case 'pattern':
      return `must match the pattern ${String(params.pattern)}`;
    case 'format':
      return formatPredicate(String(params.format));
    case 'minItems':
      return `must have at least ${count(params.limit, 'item')}`;
    case 'maxItems':
      return `must have at most ${count(params.limit, 'item')}`;
    case 'uniqueItems':
      return `must not have duplicate items (items ${String(params.j)} and ${String(params.i)} are equal)`;
    case 'minProperties':
      return `must have at least ${count(params.limit, 'property', 'properties')}`;
    case 'maxProperties':
      return `must have at most ${count(params.limit, 'property', 'properties')}`;
    case 'anyOf':
      return 'must match one of the allowed schemas';
    case 'oneOf':
      return 'must match exactly one of the allowed schemas';
    case 'not':
      return 'must not match the excluded schema';
    case 'false schema':
      return 'is not allowed';
    default:
      return error.message ?? 'is invalid';
  }
}

const ARTICLE: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

function typeNames(type: unknown): string {
  const types = Array.isArray(type) ? type : String(type).split(',');
  return types.map((t: string) => ARTICLE[t] ?? t).join(' or ');
}

function formatPredicate(format: string): string {
  if (format === 'int32') return 'must be a 32-bit integer';
  if (format === 'int64') return 'must be a 64-bit integer';
  return `must be a valid ${format}`;
}

const count = (limit: unknown, singular: string, plural = `${singular}s`): string => `${String(limit)} ${limit === 1 ? singular : plural}`;

// Enum values are shown bare, as the spec and DingTalk's docs write them: `one of DOC, WORKBOOK`.
const show = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

/** `/option/teamId` → `body property 'option.teamId'`; `/items/0/name` → `items[0].name`. */
function fieldAt(subject: Subject, instancePath: string): Subject {
  if (instancePath === '') return subject;
  let dotted = '';
  for (const raw of instancePath.slice(1).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    dotted += /^\d+$/.test(key) ? `[${key}]` : dotted === '' ? key : `.${key}`;
  }
  return { label: `${subject.label} property '${dotted}'`, field: joinField(subject.field, dotted) };
}

const joinField = (field: string, key: string): string => (key.startsWith('[') ? `${field}${key}` : `${field}.${key}`);
