/**
 * Where the built documents are on disk (Node), e.g. to render the docs portal from them. Code
 * that needs the parsed documents imports `@dingtalk-gateway/spec/gateway-contract` or
 * `@dingtalk-gateway/spec/dingtalk-spec` instead, which read no file.
 *
 * ```ts
 * import { specFiles } from '@dingtalk-gateway/spec/files';
 * const yaml = readFileSync(specFiles.gatewayYaml, 'utf8');
 * ```
 */
export const specFiles = {
  dingtalkJson: new URL('./openapi/dingtalk.json', import.meta.url),
  gatewayJson: new URL('./openapi/gateway.json', import.meta.url),
  gatewayYaml: new URL('./openapi/gateway.yaml', import.meta.url),
} as const;
