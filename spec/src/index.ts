/**
 * The DingTalk spec and the derived gateway contract as parsed OpenAPI documents, for code
 * that works from the spec at run time (request validation, the sandbox, contract tests).
 *
 * ```ts
 * import { loadGatewayContract, operationsOf } from '@dingtalk-gateway/spec';
 * for (const { path, method, operation } of operationsOf(loadGatewayContract())) { ... }
 * ```
 */
import { readFileSync } from 'node:fs';
import type { OpenApiDocument } from './openapi-document.js';

export * from './openapi-document.js';
export { deriveGatewayContract, removeUnusedComponents, type GatewayAdditions } from './derive-gateway-contract.js';
export { type DocumentedErrorCodes, documentedErrorCodes } from './error-codes.js';
export { type CallAnswer, METERED, METERING, type Metering, meteringOf } from './metering.js';
export { INVALIDATES, type Invalidation, type Invalidations, invalidationsOf } from './invalidation.js';
export {
  type FieldInvalidInputRule,
  INVALID_INPUT,
  type InvalidInputAnswer,
  type InvalidInputRules,
  invalidInputLocations,
  invalidInputRules,
} from './invalid-input.js';

const load = (name: string): OpenApiDocument =>
  JSON.parse(readFileSync(new URL(`./openapi/${name}`, import.meta.url), 'utf8')) as OpenApiDocument;

/** DingTalk's endpoints as DingTalk serves them (spec/dingtalk.yaml). */
export const loadDingTalkSpec = (): OpenApiDocument => load('dingtalk.json');

/** The gateway's public contract, derived from the DingTalk spec. */
export const loadGatewayContract = (): OpenApiDocument => load('gateway.json');

/** Where the built documents are on disk, e.g. to serve them or render docs from them. */
export const specFiles = {
  dingtalkJson: new URL('./openapi/dingtalk.json', import.meta.url),
  gatewayJson: new URL('./openapi/gateway.json', import.meta.url),
  gatewayYaml: new URL('./openapi/gateway.yaml', import.meta.url),
} as const;
