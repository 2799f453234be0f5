/**
 * Gateway mode: call DingTalk through the gateway with your team's API key.
 *
 * ```ts
 * const dingtalk = createGatewayClient({ baseUrl: 'http://127.0.0.1:8787', apiKey: process.env.DTG_API_KEY! });
 * const { workspace } = await dingtalk.GET('/v2.0/wiki/workspaces/{workspaceId}', {
 *   params: { path: { workspaceId }, query: { operatorId } },
 * });
 * ```
 */
import type { GatewayPaths } from '@dingtalk-gateway/types';
import { type DingTalkClient, type FetchFn, type PathsOf, createThrowingClient } from './client.js';

export interface GatewayClientOptions {
  /** The gateway's URL, e.g. `http://127.0.0.1:8787`. */
  baseUrl: string;
  /** Your tenant's API key (`dtg_…`), sent as `Authorization: Bearer`. */
  apiKey: string;
  fetch?: FetchFn;
  /** Extra headers on every call, e.g. `x-request-id`. */
  headers?: Record<string, string>;
}

export type GatewayClient = DingTalkClient<PathsOf<GatewayPaths>>;

export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  if (!options.apiKey) throw new TypeError('createGatewayClient: apiKey is required');
  return createThrowingClient<PathsOf<GatewayPaths>>({
    baseUrl: options.baseUrl,
    fetch: options.fetch ?? ((request) => fetch(request)),
    headers: { ...options.headers, authorization: `Bearer ${options.apiKey}` },
  });
}
