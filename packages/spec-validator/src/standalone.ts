/**
 * Validators generated at build time: the ES module source of every validate function a spec
 * validator of `doc` needs, by Ajv's standalone code generation, so that a runtime that forbids
 * code generation from strings (Workers) validates with code written at build time. The schemas
 * to generate are found by building the validator once with compilers that record what it asks
 * for, so the module has exactly what `createSpecValidator` compiles, no more.
 *
 * ```ts
 * writeFileSync('dist/gateway-contract.js', validatorModule(loadGatewayContract(), { ... }));
 * ```
 */
import type { OpenApiDocument } from '@dingtalk-gateway/spec';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { _Code } from 'ajv/dist/compile/codegen/code.js';
import standalone from 'ajv/dist/standalone/index.js';
import { OPENAPI_FORMATS_SOURCE, type SchemaCompiler, documentAjv, fragmentOf, schemaRefOf } from './ajv.js';
import { createSpecValidator } from './index.js';

// A CommonJS module: its function is its `default` (Node gives the module object to a default import).
const standaloneCode = standalone.default;

/** The fragments `createSpecValidator(doc)` compiles, for requests and for responses. */
export function schemaFragmentsOf(doc: OpenApiDocument): { request: string[]; response: string[] } {
  const recorder = () => {
    const fragments = new Set<string>();
    const compiler: SchemaCompiler = {
      compile(path) {
        fragments.add(fragmentOf(path));
        return (() => true) as unknown as ValidateFunction;
      },
    };
    return { fragments, compiler };
  };
  const request = recorder();
  const response = recorder();
  createSpecValidator(doc, { compilers: { request: request.compiler, response: response.compiler } });
  return { request: [...request.fragments].sort(), response: [...response.fragments].sort() };
}

/**
 * The sources of two ES modules, for requests (first error) and responses (all errors), each
 * exporting `validators`: validate functions by fragment, ready for `precompiledSchemaCompiler`.
 * Ajv's runtime helpers are imported from `ajv/dist/runtime/*` (plain JavaScript).
 */
export function validatorModules(doc: OpenApiDocument): { request: string; response: string } {
  const fragments = schemaFragmentsOf(doc);
  const module = (list: string[], allErrors: boolean): string => {
    const ajv = documentAjv(doc, { allErrors, code: { source: true, esm: true, formats: new _Code(OPENAPI_FORMATS_SOURCE) } });
    const refs: Record<string, string> = {};
    list.forEach((fragment, i) => {
      const id = `urn:dingtalk-gateway:validator:${i}`;
      ajv.compile({ $id: id, $ref: schemaRefOf(fragment) });
      refs[`v${i}`] = id;
    });
    const code = standaloneCode(ajv, refs)
      .replace(/^"use strict";/, '')
      // Ajv writes its runtime helpers as CommonJS requires even in ES module output. Imported
      // as a namespace: Node gives a CommonJS module's `module.exports` as its default, bundlers
      // and Vite honour `__esModule` and give `exports.default`; the helper is either.
      .replace(
        /const (\w+) = require\("(ajv\/dist\/runtime\/[\w/]+)"\)\.default;/g,
        (_match: string, local: string, path: string) =>
          `import * as ${local}_module from "${path}.js";const ${local} = typeof ${local}_module.default === "function" ? ${local}_module.default : ${local}_module.default.default;`,
      );
    const leftover = /\brequire\([^)]*\)/.exec(code);
    if (leftover) throw new Error(`Ajv's standalone code still requires a module: ${leftover[0]}`);
    const table = list.map((fragment, i) => `  ${JSON.stringify(fragment)}: v${i},`).join('\n');
    return `${code}\nexport const validators = {\n${table}\n};\n`;
  };
  return { request: module(fragments.request, false), response: module(fragments.response, true) };
}
