/**
 * Gateway mode: call DingTalk through the gateway with your team's API key. Every POST carries an
 * `Idempotency-Key`, and a call the gateway or the network failed is sent again when that is safe
 * (`gateway-retry.ts`); a read may ask the gateway's cache for DingTalk's answer now
 * (`params: { header: { 'Cache-Control': 'no-cache' } }`).
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
import { DEFAULT_RETRY, type RetryPolicy, retryingFetch } from './gateway-retry.js';

export interface GatewayClientOptions {
  /** The gateway's URL, e.g. `http://127.0.0.1:8787`. */
  baseUrl: string;
  /** Your tenant's API key (`dtg_…`), sent as `Authorization: Bearer`. */
  apiKey: string;
  fetch?: FetchFn;
  /** Extra headers on every call, e.g. `x-request-id`. */
  headers?: Record<string, string>;
  /** How calls are sent again (`false`: never). Default: 3 attempts, 10 s of waiting at most. */
  retry?: RetryPolicy | false;
  /** Whether every POST gets an `Idempotency-Key` (a new UUID per call, reused by its retries). Default true. */
  idempotencyKeys?: boolean;
}

export type GatewayClient = DingTalkClient<PathsOf<GatewayPaths>>;

export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  if (!options.apiKey) throw new TypeError('createGatewayClient: apiKey is required');
  const send: FetchFn = options.fetch ?? ((request) => fetch(request));
  const retry = options.retry === false ? { ...DEFAULT_RETRY, maxAttempts: 1 } : { ...DEFAULT_RETRY, ...options.retry };
  return createThrowingClient<PathsOf<GatewayPaths>>({
    baseUrl: options.baseUrl,
    fetch: retryingFetch(send, { retry, idempotencyKeys: options.idempotencyKeys ?? true }),
    headers: { ...options.headers, authorization: `Bearer ${options.apiKey}` },
  });
}
