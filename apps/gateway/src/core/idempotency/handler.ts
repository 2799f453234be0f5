/**
 * `Idempotency-Key` on POSTs (draft-ietf-httpapi-idempotency-key-header), around what sends a
 * request to DingTalk. It runs after the tenant's scopes, validation and rate limit.
 *
 * Per tenant and key, the first request is sent and what became of it recorded:
 * - DingTalk answered and the API ran (a 2xx, or a 4xx of the API's own): the answer is kept
 *   (`ttlMs`) and a retry with the same key and the same request gets it again
 *   (`Idempotent-Replayed: true`), without DingTalk;
 * - it may or may not have been carried out (no answer came in time, the connection broke after
 *   sending, DingTalk answered a 5xx): retries are answered `409 gateway.idempotency.outcomeUnknown`
 *   rather than sent: the caller checks, then uses a new key;
 * - it was not carried out (refused by the gateway before DingTalk, or by DingTalk's platform
 *   before the API ran: a QPS limit, the quota, the token): nothing is kept, and a retry with the
 *   key is sent.
 * A retry while the first is under way: `409 gateway.idempotency.inProgress` with `Retry-After`
 * (after `inFlightMaxMs` without an end, its instance is taken for dead: `outcomeUnknown`). The
 * same key for a different request (method, path, query or body): `422 gateway.idempotency.keyReused`.
 *
 * ```ts
 * app.all('*', runSteps(steps, idempotencyHandler({ store, ttlMs, inFlightMaxMs, metering, sha256Hex, metrics }, toDingTalk)));
 * ```
 */
import { RateLimiterUnavailableError } from '@dingtalk-gateway/rate-limiter';
import type { Metering } from '@dingtalk-gateway/spec';
import type { Context } from 'hono';
import { type HeaderRecord, answer, isPerRequestHeader } from '../answer.js';
import type { GatewayEnv, RouteHandler } from '../context.js';
import { gatewayError } from '../errors.js';
import type { Sha256Hex } from '../keys/api-key-index.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { NULL_BODY_STATUSES, dingtalkCodeOf } from '../proxy/upstream.js';
import { canonicalQuery } from '../read-cache/key.js';
import type { IdempotencyRecord, IdempotencyStore, StoredAnswer } from './interface.js';

export interface IdempotencyOptions {
  store: IdempotencyStore;
  /** How long what became of a request is kept (24 h by default). */
  ttlMs: number;
  /** The longest a request can be under way; a record older than that with no end is `outcomeUnknown`. */
  inFlightMaxMs: number;
  /** Which of DingTalk's answers mean the API ran (`x-dingtalk-metering`). */
  metering: Metering;
  sha256Hex: Sha256Hex;
  metrics: GatewayMetrics;
  /** Wall clock, epoch ms. Default `Date.now`. */
  now?: () => number;
}

/** 1 to 255 visible ASCII characters, bare or as a structured-field string (RFC 8941). */
const KEY = /^[\x21-\x7e]{1,255}$/;

type Result = 'first' | 'replayed' | 'inProgress' | 'keyReused' | 'outcomeUnknown';

/** The request's `Idempotency-Key` header, if it has one that applies (not on a GET); without one the handler passes the request on. */
export const idempotencyKeyHeader = (c: Context<GatewayEnv>): string | undefined => (c.get('operation').method === 'GET' ? undefined : c.req.header('idempotency-key'));

export function idempotencyHandler(options: IdempotencyOptions, inner: RouteHandler): RouteHandler {
  const { store, ttlMs, metering, metrics } = options;
  const now = options.now ?? Date.now;

  return async (c) => {
    const header = idempotencyKeyHeader(c);
    if (header === undefined) return inner(c);
    const key = keyOf(header);
    if (key === undefined) return gatewayError(c, 400, 'gateway.idempotency.invalidKey', 'Idempotency-Key must be 1 to 255 visible ASCII characters, bare or in double quotes');

    const tenant = c.get('tenant');
    const operationId = c.get('operation').operationId;
    const count = (result: Result) => metrics.idempotencyRequests.inc({ tenant: tenant.id, operation: operationId, result });
    const recordKey = `${tenant.id}|${key}`;
    const fingerprint = await fingerprintOf(c, options.sha256Hex);
    let seen: IdempotencyRecord | undefined;
    try {
      seen = await store.begin(recordKey, fingerprint, now(), ttlMs);
    } catch (error) {
      // Not knowing whether the key was used, the request is not sent: it could create twice.
      if (error instanceof RateLimiterUnavailableError) return gatewayError(c, 503, 'gateway.unavailable', 'the idempotency records are unavailable; send the request again shortly', { headers: { 'retry-after': '1' } });
      throw error;
    }
    if (seen !== undefined) return answerSeen(c, seen, fingerprint, count);

    count('first');
    let response: Response;
    try {
      response = await inner(c);
    } catch (error) {
      // A fault of the gateway's while the request may have been under way at DingTalk.
      await settle(() => store.finish(recordKey, { state: 'unknown', fingerprint, why: 'the gateway failed while the request was under way' }, ttlMs));
      throw error;
    }
    const body = new Uint8Array(await response.arrayBuffer());
    const outcome = outcomeOf(c, response, body, metering);
    // A record that cannot be written stays "under way": retries get 409, then outcomeUnknown (never a second send).
    if (outcome === 'notCarriedOut') await settle(() => store.abandon(recordKey));
    else if (outcome === 'unknown') {
      const why = `the first request was answered ${response.status}${c.get('log').errorCode ? ` ${c.get('log').errorCode}` : ''}`;
      await settle(() => store.finish(recordKey, { state: 'unknown', fingerprint, why }, ttlMs));
    } else {
      const headers: Array<[string, string]> = [];
      response.headers.forEach((value, name) => {
        if (!isPerRequestHeader(name)) headers.push([name, value]);
      });
      await settle(() => store.finish(recordKey, { state: 'done', fingerprint, answer: { status: response.status, headers, body } }, ttlMs));
    }
    return new Response(body.byteLength === 0 && NULL_BODY_STATUSES.has(response.status) ? null : body, { status: response.status, headers: response.headers });
  };

  function answerSeen(c: Context<GatewayEnv>, seen: IdempotencyRecord, fingerprint: string, count: (result: Result) => void): Response {
    if (seen.fingerprint !== fingerprint) {
      count('keyReused');
      return gatewayError(c, 422, 'gateway.idempotency.keyReused', 'this Idempotency-Key was used for a different request (method, path, query or body); use a new key for a new request');
    }
    if (seen.state === 'done') {
      count('replayed');
      return replay(c, seen.answer);
    }
    if (seen.state === 'inFlight' && now() - seen.startedAt <= options.inFlightMaxMs) {
      count('inProgress');
      return gatewayError(c, 409, 'gateway.idempotency.inProgress', 'a request with this Idempotency-Key is under way; send it again later', { headers: { 'retry-after': '1' } });
    }
    count('outcomeUnknown');
    const why = seen.state === 'unknown' ? seen.why : 'the first request never finished (its gateway instance may have stopped)';
    return gatewayError(c, 409, 'gateway.idempotency.outcomeUnknown', `the first request with this Idempotency-Key may or may not have been carried out by DingTalk (${why}); it is not sent again with this key: check, then use a new key`, {
      headers: { 'retry-after': String(Math.ceil(ttlMs / 1000)) },
    });
  }
}

/** A store call whose failure (Redis away) must not cost the caller the answer it already has. */
async function settle(call: () => void | Promise<void>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (!(error instanceof RateLimiterUnavailableError)) throw error;
  }
}

/** The key, without the quotes of a structured-field string; undefined when it is not one. */
function keyOf(header: string): string | undefined {
  const value = header.trim();
  const bare = value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  return KEY.test(bare) && !bare.includes('"') ? bare : undefined;
}

/** The request as DingTalk would see it: method, path, query (in any order), body. */
async function fingerprintOf(c: Context<GatewayEnv>, sha256Hex: Sha256Hex): Promise<string> {
  const url = c.req.url;
  const pathAt = url.indexOf('/', url.indexOf('//') + 2);
  const queryAt = url.indexOf('?', pathAt);
  const path = queryAt === -1 ? url.slice(pathAt) : url.slice(pathAt, queryAt);
  const query = queryAt === -1 ? '' : canonicalQuery(url.slice(queryAt + 1));
  const body = c.get('rawBody');
  return sha256Hex(`${c.req.method} ${path}?${query}\n${body === undefined ? '' : new TextDecoder().decode(body)}`);
}

/**
 * What became of the request, by its answer: DingTalk's (it carries DingTalk's request id) or
 * the gateway's own (refused before DingTalk, unless the proxy says an attempt may have arrived).
 */
function outcomeOf(c: Context<GatewayEnv>, response: Response, body: Uint8Array, metering: Metering): 'done' | 'unknown' | 'notCarriedOut' {
  if (!response.headers.has('x-acs-request-id')) return c.get('upstreamOutcome') === 'unknown' ? 'unknown' : 'notCarriedOut';
  if (response.status >= 500) return 'unknown';
  return metering.counts({ status: response.status, code: response.status >= 400 ? dingtalkCodeOf(body) : undefined }) ? 'done' : 'notCarriedOut';
}

function replay(c: Context<GatewayEnv>, stored: StoredAnswer): Response {
  const headers: HeaderRecord = {};
  for (const [name, value] of stored.headers) headers[name] = value;
  headers['idempotent-replayed'] = 'true';
  return answer(c, NULL_BODY_STATUSES.has(stored.status) ? null : (stored.body as Uint8Array<ArrayBuffer>), stored.status, headers);
}

