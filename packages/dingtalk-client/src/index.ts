/**
 * The typed DingTalk client, generated from the spec (openapi-typescript + openapi-fetch).
 *
 * ```ts
 * import { createGatewayClient, listAllWorkspaces, DingTalkError } from '@dingtalk-gateway/client';
 *
 * const dingtalk = createGatewayClient({ baseUrl: process.env.GATEWAY_URL!, apiKey: process.env.DTG_API_KEY! });
 * try {
 *   const { workspace } = await dingtalk.GET('/v2.0/wiki/workspaces/{workspaceId}', {
 *     params: { path: { workspaceId: 'MJ0pDSKMV9dO20E4' }, query: { operatorId: 'tXguN309iPhE4roSKPlLURAiEiE' } },
 *   });
 * } catch (err) {
 *   if (err instanceof DingTalkError && err.code === 'workspaceNotExist') { ... }
 * }
 * ```
 */
export { createGatewayClient, type GatewayClient, type GatewayClientOptions } from './gateway-client.js';
export { DEFAULT_RETRY, type RetryPolicy } from './gateway-retry.js';
export { QPS_WINDOW_MS, type DingTalkLimitsOptions } from './dingtalk-limits.js';
export { createDirectClient, ACCESS_TOKEN_HEADER, type DirectClient, type DirectClientOptions } from './direct-client.js';
export { listAllWorkspaces, type ListAllWorkspacesQuery } from './pagination.js';
export type { DingTalkClient, FetchFn, PathsOf } from './client.js';
export { DingTalkError, UNRECOGNIZED_ERROR_BODY } from '@dingtalk-gateway/errors';
export type * from '@dingtalk-gateway/types';
