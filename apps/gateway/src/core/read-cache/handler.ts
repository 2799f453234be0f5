/**
 * The read cache in the request path, around what sends a request to DingTalk (`inner`: DingTalk's
 * slot, the monthly quota, the proxy). It runs after the tenant's scopes and rate limit, so a hit
 * spends neither a DingTalk QPS slot nor a call of the month, and it:
 *
 * - answers a GET from the cache when it has a fresh answer for it (`Cache-Status: …; hit`,
 *   `Age`), fresh meaning younger than the tenant's lifetime for the operation and than the
 *   caller's `Cache-Control: max-age`;
 * - else sends it, once for all identical requests under way at the same moment (on this
 *   instance; with a shared store, on all of them: one instance leads, the others wait for
 *   what it keeps, at most `waitForLeaderMs`; `fwd=miss; collapsed`), and keeps a 200 answer
 *   (`fwd=miss; stored`); any other answer is passed on and not shared (a refusal may be the
 *   tenant's own: the others go on by themselves);
 * - `Cache-Control: no-cache` goes to DingTalk and keeps the answer, `no-store` keeps nothing
 *   (`fwd=request`);
 * - after a call that may have changed something at DingTalk (a write, or a read that moves
 *   others' answers; any answer but a 4xx), makes stale what the spec says it changes
 *   (`x-dingtalk-invalidates`), before the caller has its answer: a caller never reads its own
 *   write stale.
 *
 * ```ts
 * app.all('*', runSteps(steps, readCacheHandler({ store, plan, invalidations, metrics }, runSteps([dingtalkSlot, quota], proxy))));
 * ```
 */
import type { Invalidations } from '@dingtalk-gateway/spec';
import type { Context } from 'hono';
import { type HeaderRecord, answer, isPerRequestHeader } from '../answer.js';
import type { GatewayEnv, RouteHandler } from '../context.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { CachedAnswer, ReadCacheStore } from './interface.js';
import { type ParamsOf, cacheKeyOf, paramsOf, readScopesOf, requestCacheControl, writeScopesOf } from './key.js';
import type { CachePlan } from './plan.js';

export interface ReadCacheOptions {
  store: ReadCacheStore;
  /** With a shared store: how long an instance waits for another's fetch of the same read before fetching itself. */
  waitForLeaderMs?: number;
  plan: CachePlan;
  invalidations: Invalidations;
  metrics: GatewayMetrics;
  /** Wall clock, epoch ms. Default `Date.now`. */
  now?: () => number;
}

/** How often an instance waiting for another's fetch looks for what it kept. */
const LEADER_POLL_MS = 15;

/** The cache's name in `Cache-Status` (RFC 9211), which callers may match on. */
export const CACHE_NAME = 'dingtalk-gateway';

/** One request sent to DingTalk on behalf of the identical ones that arrive while it is under way. */
interface Flight {
  readonly fetchedAt: number;
  readonly answer: Promise<CachedAnswer | undefined>;
}

export function readCacheHandler(options: ReadCacheOptions, inner: RouteHandler): RouteHandler {
  const { store, plan, invalidations, metrics } = options;
  const waitForLeaderMs = options.waitForLeaderMs ?? 10_000;
  const now = options.now ?? Date.now;
  const flights = new Map<string, Flight>();
  if (!plan.enabled) return inner;

  return (c) => {
    const operation = c.get('operation');
    if (operation.method !== 'GET') return write(c);
    const lifetimeMs = plan.lifetimeMs(c.get('tenant').id, operation.operationId);
    return lifetimeMs === undefined ? inner(c) : read(c, lifetimeMs);
  };

  async function read(c: Context<GatewayEnv>, lifetimeMs: number): Promise<Response> {
    const tenant = c.get('tenant');
    const operationId = c.get('operation').operationId;
    const rawQuery = rawQueryOf(c);
    const key = cacheKeyOf(tenant.appId, operationId, c.get('pathParams'), rawQuery);
    const control = requestCacheControl(c.req.header('cache-control'));
    const count = (result: 'hit' | 'miss' | 'collapsed' | 'bypass') => {
      c.get('log').cache = result;
      metrics.cacheRequests.inc({ tenant: tenant.id, operation: operationId, result });
      if (result === 'hit' || result === 'collapsed') metrics.cacheCallsSaved.inc({ tenant: tenant.id, operation: operationId });
    };

    const params = paramsOf(c.get('pathParams'), rawQuery);
    const scopes = readScopesOf(tenant.account.org, operationId, params, invalidations.scopesOf(operationId));
    const sharing = !control.noCache && !control.noStore;
    const entry = sharing ? await store.get(key) : undefined;
    // Taken before anything is sent on this request's behalf: an answer fetched after it is at
    // least this fresh (see `ReadCacheStore.staleSince`).
    const sequence = await store.sequence();
    if (entry !== undefined) {
      const maxAgeMs = Math.min(lifetimeMs, control.maxAgeSeconds === undefined ? Infinity : control.maxAgeSeconds * 1000);
      const age = now() - entry.storedAt;
      if (age <= maxAgeMs) {
        count('hit');
        return hit(c, entry, age, `${CACHE_NAME}; hit; ttl=${Math.max(0, Math.floor((lifetimeMs - age) / 1000))}`);
      }
    }
    // The same request under way, sent after the last write that concerns it: its answer is ours.
    // (No await between looking for it and starting one: concurrent misses find the first.)
    const under = sharing ? flights.get(key) : undefined;
    if (under !== undefined && (under.fetchedAt === sequence || !(await store.staleSince(scopes, under.fetchedAt)))) {
      const shared = await under.answer;
      if (shared !== undefined) {
        count('collapsed');
        return hit(c, shared, now() - shared.storedAt, `${CACHE_NAME}; fwd=miss; collapsed`);
      }
    }

    const fetchedAt = sequence;
    let settle!: (entry: CachedAnswer | undefined) => void;
    const flight: Flight = { fetchedAt, answer: new Promise((resolve) => (settle = resolve)) };
    if (!control.noStore) flights.set(key, flight);
    const forward = `${CACHE_NAME}; fwd=${control.noCache || control.noStore ? 'request' : 'miss'}`;
    let kept: CachedAnswer | undefined;
    let leads = false;
    try {
      // Several instances: one of them fetches, the others wait for what it keeps.
      if (sharing && store.lead) {
        leads = await store.lead(key);
        const remote = leads ? undefined : await keptElsewhere(key, lifetimeMs, control.maxAgeSeconds);
        if (remote !== undefined) {
          kept = remote;
          count('collapsed');
          return hit(c, remote, now() - remote.storedAt, `${CACHE_NAME}; fwd=miss; collapsed`);
        }
      }
      count(sharing ? 'miss' : 'bypass');
      const response = await inner(c);
      // Reading may change other reads' answers (a Knowledge Base opened moves up its viewer's listing).
      await invalidateAfter(c, response, params);
      if (response.status !== 200) return withCacheStatus(response, forward);
      const body = new Uint8Array(await response.arrayBuffer());
      const headers: Array<[string, string]> = [];
      const answerHeaders: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        answerHeaders[name] = value;
        if (!isPerRequestHeader(name)) headers.push([name, value]);
      });
      kept = { body, headers, storedAt: now(), fetchedAt, scopes };
      if (!control.noStore) await store.set(key, kept, plan.storeTtlMs(c.get('operation').operationId)!);
      answerHeaders['cache-status'] = control.noStore ? forward : `${forward}; stored`;
      return new Response(body, { status: 200, headers: answerHeaders });
    } finally {
      settle(kept);
      if (flights.get(key) === flight) flights.delete(key);
      if (leads) await store.release!(key);
    }
  }

  /**
   * What the instance that leads the fetch of `key` keeps, once it is there and fresh enough for
   * this request; undefined if the leader gives up (or dies: its lock expires) without keeping
   * one, or after `WAIT_FOR_LEADER_MS`.
   */
  async function keptElsewhere(key: string, lifetimeMs: number, maxAgeSeconds: number | undefined): Promise<CachedAnswer | undefined> {
    const maxAgeMs = Math.min(lifetimeMs, maxAgeSeconds === undefined ? Infinity : maxAgeSeconds * 1000);
    const deadline = now() + waitForLeaderMs;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, LEADER_POLL_MS));
      const entry = await store.get(key);
      if (entry !== undefined && now() - entry.storedAt <= maxAgeMs) return entry;
      if (now() >= deadline || !(await store.leading!(key))) return undefined;
    }
  }

  async function write(c: Context<GatewayEnv>): Promise<Response> {
    const response = await inner(c);
    await invalidateAfter(c, response, paramsOf(c.get('pathParams'), rawQueryOf(c)));
    return response;
  }

  /** What a call that reached DingTalk makes stale goes, before its caller has the answer. */
  async function invalidateAfter(c: Context<GatewayEnv>, response: Response, params: ParamsOf): Promise<void> {
    const stale = invalidations.of(c.get('operation').operationId);
    // A 4xx: not done. Anything else may have been (a 5xx or a timeout too).
    if (stale.length === 0 || (response.status >= 400 && response.status < 500)) return;
    await store.invalidate(writeScopesOf(c.get('tenant').account.org, stale, params));
  }
}

/** A kept answer, with this request's own headers (id, limits) and its age. */
function hit(c: Context<GatewayEnv>, entry: CachedAnswer, ageMs: number, cacheStatus: string): Response {
  const headers: HeaderRecord = {};
  for (const [name, value] of entry.headers) headers[name] = value;
  headers.age = String(Math.max(0, Math.floor(ageMs / 1000)));
  headers['cache-status'] = cacheStatus;
  return answer(c, entry.body as Uint8Array<ArrayBuffer>, 200, headers);
}

function rawQueryOf(c: Context<GatewayEnv>): string {
  const url = c.req.url;
  const queryAt = url.indexOf('?');
  return queryAt === -1 ? '' : url.slice(queryAt + 1);
}

function withCacheStatus(response: Response, cacheStatus: string): Response {
  response.headers.set('cache-status', cacheStatus);
  return response;
}
