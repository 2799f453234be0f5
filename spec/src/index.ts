/**
 * The DingTalk spec and the derived gateway contract, for code that works from the spec at run
 * time (request validation, the sandbox, contract tests). Nothing here reads a file: the parsed
 * documents are modules of their own, built from the YAML and loadable on any runtime.
 *
 * ```ts
 * import { operationsOf } from '@dingtalk-gateway/spec';
 * import { loadGatewayContract } from '@dingtalk-gateway/spec/gateway-contract';
 * import { loadDingTalkSpec } from '@dingtalk-gateway/spec/dingtalk-spec';
 * import { specFiles } from '@dingtalk-gateway/spec/files'; // the built files on disk (Node)
 * for (const { path, method, operation } of operationsOf(loadGatewayContract())) { ... }
 * ```
 */
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
