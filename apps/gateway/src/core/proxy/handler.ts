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
 * - DingTalk refused it for QPS (`QpsLimitForAppkeyAndApi`: something else shares the app's
 *   slots; `QpsLimitForApi`: the platform is throttling the API for everyone). DingTalk did not
 *   process it, so POSTs too: up to `throttleRetries` more attempts, each after DingTalk's
 *   one-second window (with jitter, wider for the platform's limit so that the callers of a
 *   throttled hour do not come back together) and a slot of the app's QPS limit (`qpsSlot`).
 *   No slot within the gateway's wait: `429 gateway.rateLimit.dingtalkQps`, as for any request
 *   over the limit. Past the retries, DingTalk's answer, with `Retry-After`.
 *
 * What may not go to DingTalk at all (its ban of the egress IP, its per-IP window) is answered
 * `503 gateway.upstream.banned` / `429 gateway.rateLimit.dingtalkIp` with `Retry-After`, never
 * as a bad answer from DingTalk.
 *
 * For a metered operation every attempt is counted in the org's month by DingTalk's answer
 * (`MeteredCall`): a retry needs a call of the month (else the last answer stands), and when the
 * request is done what was reserved and did not count goes back to the ledger. DingTalk's
 * `ApiCountLimitForOrg` marks the org's month spent in the ledger.
 */
import type { Metering } from '@dingtalk-gateway/spec';
import { TokenUnavailableError } from '@dingtalk-gateway/token-provider';
import type { Context } from 'hono';
import type { GatewayEnv, RouteHandler } from '../context.js';
import { type HeaderRecord, answer, combineHeaderValues } from '../answer.js';
import { gatewayError } from '../errors.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { Tenant } from '../tenants.js';
import { EgressRefusedError } from '../egress/guard.js';
import type { IpBan } from '../egress/ip-ban.js';
import { dingtalkQpsRefusal } from '../qps/refusal.js';
import type { TokenRegistry } from '../tokens/registry.js';
import { ACCESS_TOKEN_HEADER, forwardedRawRequestHeaders, forwardedRequestHeaders } from './forward-headers.js';
import { NULL_BODY_STATUSES, type Upstream, UpstreamError, type UpstreamRequest, type UpstreamResponse, dingtalkCodeOf } from './upstream.js';

export interface ProxyOptions {
  /** DingTalk, behind the egress guard (`guardEgress`): it throws `EgressRefusedError` for what may not go. */
  upstream: Upstream;
  /** DingTalk's ban of the egress IP: while it lasts, no token is even asked for. */
  ipBan: IpBan;
  tokens: TokenRegistry;
  getRetries: number;
  /** How many more attempts a request DingTalk refused for QPS gets. */
  throttleRetries: number;
  /** Waits for a slot of DingTalk's QPS limit for this app and operation (the rate-limit step's queue); false: none came. */
  qpsSlot: (tenant: Tenant, operationId: string, signal: AbortSignal) => Promise<boolean>;
  metrics: GatewayMetrics;
  /** Which of DingTalk's answers count towards the org's month (the contract's `x-dingtalk-metering`). */
  metering: Metering;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const INVALID_AUTHENTICATION = 'InvalidAuthentication';
const ORG_QUOTA_SPENT = 'Forbidden.AccessDenied.ApiCountLimitForOrg';
/** DingTalk's QPS refusals: not processed, safe to send again after the window. */
const THROTTLES: ReadonlyMap<string, { reason: string; jitter: number }> = new Map([
  ['Forbidden.AccessDenied.QpsLimitForAppkeyAndApi', { reason: 'dingtalkQps', jitter: 0.25 }],
  ['Forbidden.AccessDenied.QpsLimitForApi', { reason: 'dingtalkPlatformQps', jitter: 1 }],
]);
/** DingTalk's QPS window. */
const THROTTLE_WINDOW_MS = 1_000;

export function dingtalkProxy(options: ProxyOptions): RouteHandler {
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const { metering } = options;

  return async (c) => {
    const call = c.get('meteredCall');
    try {
      return await forward(c);
    } finally {
      // What was reserved and did not count goes back; a ledger that cannot answer now keeps it (errs on the quota's side).
      try {
        const settling = call?.settle();
        if (settling) await settling;
      } catch {
        // The ledger cannot answer now: what was reserved stays counted.
      }
    }
  };

  async function forward(c: Context<GatewayEnv>): Promise<Response> {
    const call = c.get('meteredCall');
    const tenant = c.get('tenant');
    const operation = c.get('operation');
    const log = c.get('log');
    const tokens = options.tokens.forApp(tenant.appId);
    const url = c.req.url;
    const headers = requestHeadersToForward(c);
    const body = c.get('rawBody');
    // DingTalk sees the gateway's request id (the caller's when it was sane), so logs on both sides match.
    headers['x-request-id'] = c.get('requestId');
    // The first attempt's slot of DingTalk's per-IP window was taken with the rate limits; a retry takes its own.
    const request: UpstreamRequest = { method: operation.method, path: url.slice(url.indexOf('/', url.indexOf('//') + 2)), headers, body, ipWindowSlot: c.get('egressCounted') ? 'taken' : 'take' };

    const bannedMs = options.ipBan.waitMs();
    if (bannedMs > 0) return egressRefused(c, options.metrics, new EgressRefusedError('banned', bannedMs, "DingTalk bans this instance's egress IP"), tenant);

    let token: string;
    const span = c.get('span');
    const tokenSpan = span?.child('dingtalk.token', { 'gateway.app': tenant.appId });
    try {
      const lease = await tokens.getToken();
      token = lease.token;
      log.tokenCached = lease.fromCache;
      tokenSpan?.end({ 'gateway.token.cached': lease.fromCache });
    } catch (error) {
      tokenSpan?.end(undefined, error instanceof Error ? error.message : String(error));
      if (error instanceof TokenUnavailableError) {
        // The token fetch itself was held back by the egress guard: that is the answer.
        if (error.cause instanceof EgressRefusedError) return egressRefused(c, options.metrics, error.cause, tenant);
        return gatewayError(c, 503, 'gateway.token.unavailable', `no DingTalk access token for app ${tenant.appId}: ${reason(error)}`, { headers: retryAfterOf(error) });
      }
      throw error;
    }

    const isGet = operation.method === 'GET';
    let retriesLeft = options.getRetries;
    let throttleRetriesLeft = options.throttleRetries;
    let tokenRefreshed = false;
    let attempts = 0;
    let upstreamMs = 0;
    /** Another attempt may go: a metered one needs a call of the org's month for it. */
    const mayRetry = async () => call === undefined || (await call.reserveAttempt());

    for (;;) {
      attempts += 1;
      if (attempts > 1) request.ipWindowSlot = 'take';
      headers[ACCESS_TOKEN_HEADER] = token;
      const started = now();
      let response: UpstreamResponse;
      const callSpan = span?.child('dingtalk.call', { 'dingtalk.operation': operation.operationId, 'http.request.method': operation.method, 'gateway.attempt': attempts });
      try {
        response = await options.upstream.send(request);
        callSpan?.end({ 'http.response.status_code': response.status });
      } catch (error) {
        callSpan?.end(undefined, error instanceof Error ? error.message : String(error));
        upstreamMs += now() - started;
        if (error instanceof EgressRefusedError) {
          // Not sent, or answered by DingTalk's anti-abuse front, not its API: nothing counts.
          call?.counted(false);
          log.upstreamMs = upstreamMs;
          log.upstreamAttempts = attempts;
          return egressRefused(c, options.metrics, error, tenant);
        }
        if (!(error instanceof UpstreamError)) throw error;
        // An answer that never came may still have been processed: it counts.
        call?.counted(error.mayHaveReachedUpstream);
        const retryable = (isGet && error.failure !== 'timeout' && error.failure !== 'tooLarge') || !error.mayHaveReachedUpstream;
        if (retryable && retriesLeft > 0 && (await mayRetry())) {
          retriesLeft -= 1;
          options.metrics.upstreamRetries.inc({ operation: operation.operationId, reason: error.failure });
          await sleep(backoff(options.getRetries - retriesLeft, random));
          continue;
        }
        log.upstreamMs = upstreamMs;
        log.upstreamAttempts = attempts;
        if (error.mayHaveReachedUpstream) c.set('upstreamOutcome', 'unknown');
        return upstreamFailure(c, error);
      }
      const elapsed = now() - started;
      upstreamMs += elapsed;
      options.metrics.upstreamDuration.observe({ operation: operation.operationId, status: String(response.status) }, elapsed / 1000);
      const code = response.status >= 400 ? dingtalkCodeOf(response.body) : undefined;
      if (call) {
        call.counted(metering.counts({ status: response.status, code }));
        if (code === ORG_QUOTA_SPENT) await call.orgSpent();
      }

      if (response.status === 400 && !tokenRefreshed && code === INVALID_AUTHENTICATION && (await mayRetry())) {
        tokenRefreshed = true;
        await tokens.invalidate(token);
        try {
          token = (await tokens.getToken()).token;
        } catch (error) {
          if (error instanceof TokenUnavailableError) {
            log.upstreamMs = upstreamMs;
            log.upstreamAttempts = attempts;
            return gatewayError(c, 503, 'gateway.token.unavailable', `DingTalk refused the token of app ${tenant.appId} and no new one could be obtained: ${reason(error)}`, {
              headers: retryAfterOf(error),
            });
          }
          throw error;
        }
        options.metrics.upstreamRetries.inc({ operation: operation.operationId, reason: 'invalidToken' });
        continue;
      }
      const throttle = code === undefined ? undefined : THROTTLES.get(code);
      if (throttle && throttleRetriesLeft > 0 && (await mayRetry())) {
        throttleRetriesLeft -= 1;
        options.metrics.upstreamRetries.inc({ operation: operation.operationId, reason: throttle.reason });
        // DingTalk's window, then a slot of the app's limit: no retry adds to the congestion.
        await sleep(THROTTLE_WINDOW_MS * (1 + throttle.jitter * random()));
        const signal = c.req.raw.signal;
        if (!signal.aborted && (await options.qpsSlot(tenant, operation.operationId, signal))) continue;
        // No slot for sending it again within the gateway's wait: DingTalk did not process it, so
        // it is refused as the gateway refuses a request over DingTalk's QPS, which a caller may
        // send again, rather than with DingTalk's 403.
        log.upstreamMs = upstreamMs;
        log.upstreamAttempts = attempts;
        return dingtalkQpsRefusal(c, options.metrics, tenant, `DingTalk refused app ${tenant.appId}'s ${operation.operationId} call for its QPS limit, and no slot freed up to send it again`, THROTTLE_WINDOW_MS / 1000);
      }
      if (isGet && response.status >= 500 && retriesLeft > 0 && (await mayRetry())) {
        retriesLeft -= 1;
        options.metrics.upstreamRetries.inc({ operation: operation.operationId, reason: '5xx' });
        await sleep(backoff(options.getRetries - retriesLeft, random));
        continue;
      }

      log.upstreamMs = upstreamMs;
      log.upstreamAttempts = attempts;
      const answerHeaders = headerRecord(response.headers);
      // DingTalk's QPS refusal passed on: when to come back (its window).
      if (throttle) answerHeaders['retry-after'] ??= String(THROTTLE_WINDOW_MS / 1000);
      if (NULL_BODY_STATUSES.has(response.status)) return answer(c, null, response.status, answerHeaders);
      return answer(c, response.body as Uint8Array<ArrayBuffer>, response.status, answerHeaders);
    }
  }
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

/** DingTalk's per-IP limit: the guard holds the IP under it (429), or DingTalk bans the IP (503). */
function egressRefused(c: Context<GatewayEnv>, metrics: GatewayMetrics, error: EgressRefusedError, tenant: Tenant): Response {
  const headers = { 'retry-after': String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))) };
  if (error.reason === 'ipWindow') metrics.rateLimited.inc({ tenant: tenant.id, limit: 'dingtalkIp' });
  if (error.reason === 'ipWindow') return gatewayError(c, 429, 'gateway.rateLimit.dingtalkIp', `${error.message}; app ${tenant.appId}'s call was not sent`, { headers });
  return gatewayError(c, 503, 'gateway.upstream.banned', `${error.message}; nothing is sent to DingTalk until the ban ends`, { headers });
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

/** When the token provider tries again (its backoff), as `Retry-After`. */
function retryAfterOf(error: TokenUnavailableError): Record<string, string> {
  return { 'retry-after': String(Math.max(1, Math.ceil((error.retryAt - Date.now()) / 1000))) };
}

function reason(error: TokenUnavailableError): string {
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  return typeof cause?.code === 'string' ? `${cause.code}` : String(cause?.message ?? 'unknown error');
}
