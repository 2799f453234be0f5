import { readFileSync, readdirSync } from 'node:fs';
import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';
import fc from 'fast-check';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { parse, parseDocument, stringify } from 'yaml';
import { parseConfig } from './load.js';
import { configSchema } from './schema.js';
import { YAML_CORE_SCHEMA } from './yaml-core-schema.js';

/** What each parser makes of a document: its value, or that it refused it. */
function readings(text: string): { jsYaml: unknown; yaml: unknown } {
  const attempt = (read: () => unknown) => {
    try {
      return { value: read() };
    } catch {
      return 'refused';
    }
  };
  return { jsYaml: attempt(() => load(text, { schema: YAML_CORE_SCHEMA })), yaml: attempt(() => parse(text, { uniqueKeys: true })) };
}

const TRICKY_SCALARS = [
  ...['0o17', '0x1F', '0o8', '0xG', '0o', '0x', '0b101', '012', '00', '09', '+1', '-0', '1_000', '12345678901234567890'],
  ...['1e3', '1.5e-3', '-.5e3', '0.', '.5', '+.5', '1.0', '1e', 'e3', '1.2.3', '.inf', '-.Inf', '+.INF', '.NaN', '.nan', 'nan'],
  ...['~', '', 'null', 'Null', 'NULL', 'nULL', 'true', 'True', 'TRUE', 'tRue', 'false', 'yes', 'no', 'on', 'off', 'y', 'n'],
  ...['2001-12-14', '2001-12-14T21:59:43.10-05:00', '1:20', '"quoted"', "'single'", '!!str 1', '&a 1', '<<', '=', '{a: 1}', '[1, 2]', '"\\u00e9"'],
];

describe('YAML_CORE_SCHEMA (js-yaml) reads what the yaml package reads', () => {
  it.each(TRICKY_SCALARS)('the plain scalar %j', (scalar) => {
    const { jsYaml, yaml } = readings(`v: ${scalar}\n`);
    expect(jsYaml).toEqual(yaml);
  });

  it('any scalar made of number-like and keyword-like characters', () => {
    const chars = '0123456789+-._eExXoObBinfaINFAtrueTRUEnulNUL~'.split('');
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...chars), maxLength: 8 }), (scalar) => {
        const { jsYaml, yaml } = readings(`v: ${scalar}\n`);
        // Where the yaml package reads the document, js-yaml must read the same value.
        if (yaml !== 'refused') expect(jsYaml).toEqual(yaml);
      }),
      { numRuns: 2000 },
    );
  });

  it('any JSON-like value, as the yaml package writes it', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (value) => {
        const { jsYaml, yaml } = readings(stringify(value));
        expect(jsYaml).toEqual(yaml);
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseConfig', () => {
  const contract = loadGatewayContract();
  const examples = new URL('../../config/', import.meta.url);
  it.each(readdirSync(examples).filter((f) => f.endsWith('.yaml')))('reads %s exactly as the yaml package would', (file) => {
    const text = readFileSync(new URL(file, examples), 'utf8');
    expect(parseConfig(text, file, contract)).toEqual(configSchema.parse(parseDocument(text).toJS()));
  });
});
