/**
 * Errors the gateway makes itself. Same body shape as DingTalk's, codes from the contract's
 * `GatewayErrorCode` (the type below is generated from it, so an unlisted code does not compile).
 */
import { errorBody } from '@dingtalk-gateway/errors';
import type { AccessDeniedDetail, GatewayErrorCode } from '@dingtalk-gateway/types';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { GatewayEnv } from './context.js';

export function gatewayError(
  c: Context<GatewayEnv>,
  status: ContentfulStatusCode,
  code: GatewayErrorCode,
  message: string,
  extra: { accessDeniedDetail?: AccessDeniedDetail; headers?: Record<string, string> } = {},
): Response {
  const log = c.get('log');
  if (log) log.errorCode = code;
  return c.json(errorBody(code, message, c.get('requestId') ?? '', extra.accessDeniedDetail), status, extra.headers);
}
