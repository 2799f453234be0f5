/**
 * Errors the gateway makes itself. Same body shape as DingTalk's, codes from the contract's
 * `GatewayErrorCode` (the type below is generated from it, so an unlisted code does not compile).
 */
import { errorBody } from '@dingtalk-gateway/errors';
import type { AccessDeniedDetail, GatewayErrorCode } from '@dingtalk-gateway/types';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { answer } from './answer.js';
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
  return answerJson(c, errorBody(code, message, c.get('requestId') ?? '', extra.accessDeniedDetail), status, extra.headers);
}

/** A JSON answer, with the same content type as Hono's `c.json()`. Header names in lower case. */
export function answerJson(c: Context<GatewayEnv>, value: unknown, status: number, headers?: Record<string, string>): Response {
  return answer(c, JSON.stringify(value), status, headers === undefined ? JSON_HEADERS : Object.assign(lowerCaseNames(headers), JSON_HEADERS));
}

const JSON_HEADERS = { 'content-type': 'application/json' };

function lowerCaseNames(headers: Record<string, string>): Record<string, string> {
  const lower: Record<string, string> = {};
  for (const name in headers) lower[name.toLowerCase()] = headers[name]!;
  return lower;
}
