/**
 * Errors the gateway makes itself, in DingTalk's body shape. Two kinds:
 * - where DingTalk would answer the same request itself (bad input, a path or method it does
 *   not serve), DingTalk's own status and code, so a caller sees no difference but the message
 *   (the gateway's names the field): `dingtalkError`, with the code the spec gives;
 * - what DingTalk cannot answer (API key, scopes, limits, the gateway's own faults): the
 *   gateway's codes, `gateway.*` from the contract's `GatewayErrorCode` (the type below is
 *   generated from it, so an unlisted code does not compile): `gatewayError`.
 */
import { errorBody } from '@dingtalk-gateway/errors';
import type { AccessDeniedDetail, GatewayErrorCode } from '@dingtalk-gateway/types';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { answer } from './answer.js';
import type { GatewayEnv } from './context.js';

/**
 * DingTalk's answer to a path or method it does not serve (spec/dingtalk.yaml lists it beside
 * the platform codes), given by the gateway for every request that matches no operation of its
 * contract.
 */
export const API_NOT_FOUND = 'InvalidAction.NotFound';

export function gatewayError(
  c: Context<GatewayEnv>,
  status: ContentfulStatusCode,
  code: GatewayErrorCode,
  message: string,
  extra: { accessDeniedDetail?: AccessDeniedDetail; headers?: Record<string, string> } = {},
): Response {
  return errorAnswer(c, status, code, message, extra);
}

/** An answer DingTalk itself would give this request: its status and code (from the spec), the gateway's message. */
export function dingtalkError(c: Context<GatewayEnv>, status: number, code: string, message: string, headers?: Record<string, string>): Response {
  return errorAnswer(c, status, code, message, { headers });
}

function errorAnswer(
  c: Context<GatewayEnv>,
  status: number,
  code: string,
  message: string,
  extra: { accessDeniedDetail?: AccessDeniedDetail | undefined; headers?: Record<string, string> | undefined },
): Response {
  const log = c.get('log');
  if (log) log.errorCode = code;
  return answerJson(c, errorBody(code, message, c.get('requestId') ?? '', extra.accessDeniedDetail), status, withRetryAfter(status, extra.headers));
}

/**
 * A 429 or 503 always says when to come back: the `Retry-After` its maker gives (it knows
 * best), else one second, so that no refusal leaves a caller guessing or retrying at once.
 */
function withRetryAfter(status: number, headers: Record<string, string> | undefined): Record<string, string> | undefined {
  if (status !== 429 && status !== 503) return headers;
  if (headers && Object.keys(headers).some((name) => name.toLowerCase() === 'retry-after')) return headers;
  return { ...headers, 'retry-after': '1' };
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
