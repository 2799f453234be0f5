/**
 * A js-yaml schema that reads plain scalars exactly as YAML 1.2's core schema says (and as the
 * `yaml` package reads them by default): js-yaml's own also takes `0b101` as a number and leaves
 * `+.5` a string. The regular expressions are the spec's tag resolution table (YAML 1.2.2,
 * 10.3.2). The config loader relies on both parsers agreeing (see `load.ts`).
 */
import { FAILSAFE_SCHEMA, type Schema, Type } from 'js-yaml';

const NULL = /^(?:~|null|Null|NULL)?$/;
const BOOL = /^(?:true|True|TRUE|false|False|FALSE)$/;
const INT = /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$/;
const FLOAT = /^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

const coreNull = new Type('tag:yaml.org,2002:null', {
  kind: 'scalar',
  resolve: (data: string | null) => data === null || NULL.test(data),
  construct: () => null,
  predicate: (value: unknown) => value === null,
  represent: () => 'null',
});

const coreBool = new Type('tag:yaml.org,2002:bool', {
  kind: 'scalar',
  resolve: (data: string | null) => data !== null && BOOL.test(data),
  construct: (data: string) => data.toLowerCase() === 'true',
  predicate: (value: unknown) => typeof value === 'boolean',
  represent: (value: object) => String(value),
});

const coreInt = new Type('tag:yaml.org,2002:int', {
  kind: 'scalar',
  resolve: (data: string | null) => data !== null && INT.test(data),
  construct: (data: string) => (data.startsWith('0o') ? Number.parseInt(data.slice(2), 8) : data.startsWith('0x') ? Number.parseInt(data.slice(2), 16) : Number(data)),
  predicate: (value: unknown) => Number.isInteger(value),
  represent: (value: object) => String(value),
});

const coreFloat = new Type('tag:yaml.org,2002:float', {
  kind: 'scalar',
  resolve: (data: string | null) => data !== null && FLOAT.test(data),
  construct: (data: string) => {
    const lower = data.toLowerCase();
    if (lower.endsWith('.inf')) return data.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    if (lower === '.nan') return Number.NaN;
    return Number(data);
  },
  predicate: (value: unknown) => typeof value === 'number',
  represent: (value: object) => String(value),
});

export const YAML_CORE_SCHEMA: Schema = FAILSAFE_SCHEMA.extend({ implicit: [coreNull, coreBool, coreInt, coreFloat] });
