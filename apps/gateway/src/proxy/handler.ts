/**
 * The last step of the request path: send the request to DingTalk with the tenant's app
 * token and pass DingTalk's answer back unchanged.
 *
 * Replays, and only these:
 * - DingTalk answered `InvalidAuthentication`: the token is dropped (if still cached), a fresh
 *   one fetched, and the request sent once more. Safe for a POST: DingTalk refused it unread.
 * - A GET failed to connect, broke, or got a 5xx: up to `getRetries` more attempts, with
 *   jittered backoff.
 * - A POST that certainly never reached DingTalk (connection refused): likewise. A POST that
 *   may have reached DingTalk is never sent again.
 */
import { TokenUnavailableError } from '@dingtalk-gateway/token-provider';
import type { Context } from 'hono';
import type { GatewayEnv, RouteHandler } from '../context.js';
import { type HeaderRecord, answer, combineHeaderValues } from '../answer.js';
import { gatewayError } from '../errors.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { TokenRegistry } from '../tokens/registry.js';
import { ACCESS_TOKEN_HEADER, forwardedRawRequestHeaders, forwardedRequestHeaders } from './forward-headers.js';
import { NULL_BODY_STATUSES, type Upstream, UpstreamError, type UpstreamResponse } from './upstream.js';

export interface ProxyOptions {
  upstream: Upstream;
  tokens: TokenRegistry;
  getRetries: number;
  metrics: GatewayMetrics;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const INVALID_AUTHENTICATION = 'InvalidAuthentication';
const invalidAuthenticationBytes = new TextEncoder().encode(INVALID_AUTHENTICATION);

export function dingtalkProxy(options: ProxyOptions): RouteHandler {
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;

  return async (c) => {
    const tenant = c.get('tenant');
    const operation = c.get('operation');
    const log = c.get('log');
    const tokens = options.tokens.forApp(tenant.appId);
    const url = c.req.url;
    const headers = requestHeadersToForward(c);
    const body = c.get('rawBody');
    // DingTalk sees the gateway's request id (the caller's when it was sane), so logs on both sides match.
    headers['x-request-id'] = c.get('requestId');
    const request = { method: operation.method, path: url.slice(url.indexOf('/', url.indexOf('//') + 2)), headers, body };

    let token: string;
    try {
      const lease = await tokens.getToken();
      token = lease.token;
      log.tokenCached = lease.fromCache;
    } catch (error) {
      if (error instanceof TokenUnavailableError) {
        return gatewayError(c, 503, 'gateway.token.unavailable', `no DingTalk access token for app ${tenant.appId}: ${reason(error)}`, {
          headers: { 'retry-after': String(Math.max(1, Math.ceil((error.retryAt - Date.now()) / 1000))) },
        });
      }
      throw error;
    }

    const isGet = operation.method === 'GET';
    let retriesLeft = options.getRetries;
    let tokenRefreshed = false;
    let attempts = 0;
    let upstreamMs = 0;

    for (;;) {
      attempts += 1;
      headers[ACCESS_TOKEN_HEADER] = token;
      const started = now();
      let response: UpstreamResponse;
      try {
        response = await options.upstream.send(request);
      } catch (error) {
        upstreamMs += now() - started;
        if (!(error instanceof UpstreamError)) throw error;
        const retryable = (isGet && error.failure !== 'timeout' && error.failure !== 'tooLarge') || !error.mayHaveReachedUpstream;
        if (retryable && retriesLeft > 0) {
          retriesLeft -= 1;
          options.metrics.upstreamRetries.inc({ operation: operation.operationId, reason: error.failure });
          await sleep(backoff(options.getRetries - retriesLeft, random));
          continue;
        }
        log.upstreamMs = upstreamMs;
        log.upstreamAttempts = attempts;
        return upstreamFailure(c, error);
      }
      const elapsed = now() - started;
      upstreamMs += elapsed;
      options.metrics.upstreamDuration.observe({ operation: operation.operationId, status: String(response.status) }, elapsed / 1000);

      if (response.status === 400 && !tokenRefreshed && isInvalidAuthentication(response.body)) {
        tokenRefreshed = true;
        await tokens.invalidate(token);
        try {
          token = (await tokens.getToken()).token;
        } catch (error) {
          if (error instanceof TokenUnavailableError) {
            log.upstreamMs = upstreamMs;
            log.upstreamAttempts = attempts;
            return gatewayError(c, 503, 'gateway.token.unavailable', `DingTalk refused the token of app ${tenant.appId} and no new one could be obtained: ${reason(error)}`);
          }
          throw error;
        }
        options.metrics.upstreamRetries.inc({ operation: operation.operationId, reason: 'invalidToken' });
        continue;
      }
      if (isGet && response.status >= 500 && retriesLeft > 0) {
        retriesLeft -= 1;
        options.metrics.upstreamRetries.inc({ operation: operation.operationId, reason: '5xx' });
        await sleep(backoff(options.getRetries - retriesLeft, random));
        continue;
      }

      log.upstreamMs = upstreamMs;
      log.upstreamAttempts = attempts;
      const answerHeaders = headerRecord(response.headers);
      if (NULL_BODY_STATUSES.has(response.status)) return answer(c, null, response.status, answerHeaders);
      return answer(c, response.body as Uint8Array<ArrayBuffer>, response.status, answerHeaders);
    }
  };
}

/**
 * The caller's headers DingTalk gets. On Node (@hono/node-server puts the incoming message in
 * `c.env`) from its raw header list, sparing a full Web `Headers` per request (performance);
 * elsewhere from the Web `Headers`. Both give the same result.
 */
function requestHeadersToForward(c: Context<GatewayEnv>): Record<string, string> {
  const raw = (c.env as { incoming?: { rawHeaders?: unknown } } | undefined)?.incoming?.rawHeaders;
  return Array.isArray(raw) ? forwardedRawRequestHeaders(raw as string[]) : forwardedRequestHeaders(c.req.raw.headers);
}

/** DingTalk's answer headers as a record; a repeated one as `Headers` would combine it. */
function headerRecord(entries: ReadonlyArray<readonly [string, string]>): HeaderRecord {
  const headers: HeaderRecord = {};
  for (const [name, value] of entries) {
    const seen = headers[name];
    headers[name] = seen === undefined ? value : combineHeaderValues(name, seen, value);
  }
  return headers;
}

/** 50, 100, 200 ms … with ±50% jitter, so retries of many callers spread out. */
function backoff(attempt: number, random: () => number): number {
  return 50 * 2 ** (attempt - 1) * (0.5 + random());
}

function isInvalidAuthentication(body: Uint8Array): boolean {
  // Most 400s are parameter errors: look for the code's bytes before parsing anything.
  if (indexOf(body, invalidAuthenticationBytes) === -1) return false;
  try {
    return (JSON.parse(new TextDecoder().decode(body)) as { code?: unknown }).code === INVALID_AUTHENTICATION;
  } catch {
    return false;
  }
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function upstreamFailure(c: Context<GatewayEnv>, error: UpstreamError): Response {
  switch (error.failure) {
    case 'timeout':
      return gatewayError(c, 504, 'gateway.upstream.timeout', `DingTalk did not answer in time: ${error.message}`);
    case 'tooLarge':
      return gatewayError(c, 502, 'gateway.upstream.badResponse', `DingTalk's answer could not be passed on: ${error.message}`);
    default:
      return gatewayError(c, 502, 'gateway.upstream.unreachable', `DingTalk could not be reached: ${error.message}`);
  }
}

function reason(error: TokenUnavailableError): string {
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  return typeof cause?.code === 'string' ? `${cause.code}` : String(cause?.message ?? 'unknown error');
}
