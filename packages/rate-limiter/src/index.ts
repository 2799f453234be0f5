/**
 * `@dingtalk-gateway/rate-limiter`: the limits a gateway request is counted against, all decided
 * in one call by a `RequestLimiter`. Each check is one of two algorithms:
 *
 * - `rate`: GCRA (rate + burst), for the tenants' budgets; `rateLimitHeaders` turns its decision
 *   into IETF `RateLimit-Policy` / `RateLimit` / `Retry-After` values.
 * - `window`: an exact sliding window (at most `limit` in any `windowMs`), for DingTalk's own
 *   per-app, per-API QPS limit and per-IP window, which GCRA cannot express without trading
 *   burst for rate.
 *
 * Implementations: `MemoryRequestLimiter` (one instance, bounded memory, decided without a
 * promise) and `RedisRequestLimiter` (`@dingtalk-gateway/rate-limiter/redis`: shared by every
 * instance, one atomic Lua script on Redis time, one round trip per event-loop turn).
 * `withRequestFallback` decides what happens while Redis is down (`local`, a per-instance
 * `MemoryRequestLimiter`, is the default), with the circuit breaker of
 * `@dingtalk-gateway/circuit-breaker`.
 *
 * This entry loads nothing but Web-standard JavaScript, on any runtime. The Redis limiter is
 * `@dingtalk-gateway/rate-limiter/redis` (it needs ioredis, a Node-compatible runtime's TCP).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { rateLimitHeaders, withRequestFallback } from '@dingtalk-gateway/rate-limiter';
 * import { RedisRequestLimiter } from '@dingtalk-gateway/rate-limiter/redis';
 *
 * const limits = withRequestFallback(new RedisRequestLimiter({ redis: new Redis(process.env.REDIS_URL!) }), {
 *   onTrip: (err) => log.warn({ err }, 'rate limiter: Redis down, limiting per instance'),
 *   onRecover: () => log.info('rate limiter: Redis back'),
 * });
 *
 * const policy = { rate: 10, burst: 20 }; // 10 req/s sustained, 20 at once
 * // DingTalk: "20 requests per second, the window is one second", per app and API.
 * const [team, qps] = await limits.check([
 *   { kind: 'rate', key: `tenant:${tenant.id}`, policy },
 *   { kind: 'window', key: `app:${appId}:op:${operationId}`, policy: { limit: 20, windowMs: 1000 } },
 * ]);
 * for (const [name, value] of Object.entries(rateLimitHeaders('tenant', policy, team!.decision))) c.header(name, value);
 * if (!team!.decision.allowed) return c.json({ code: 'gateway.rateLimit.tenant', message: '...' }, 429);
 * if (!qps!.decision.allowed) c.header('Retry-After', String(Math.ceil(qps!.decision.retryAfterMs / 1000)));
 * ```
 */
export {
  RateLimiterUnavailableError,
  type Clock,
  type RateLimitDecision,
  type RateLimitPolicy,
  type RateLimiterUnavailableReason,
} from './interface.js';
export type { WindowDecision, WindowPolicy } from './window-interface.js';
export type { SweepOptions } from './sweep.js';
export {
  type CompanionCall,
  type CompanionLimiter,
  type CompanionOutcome,
  type LimitCheck,
  type LimitOutcome,
  MemoryRequestLimiter,
  type MemoryRequestLimiterOptions,
  type RequestLimiter,
} from './request-limits.js';
export {
  withRequestFallback,
  type FallbackCircuitOptions,
  type FallbackMode,
  type FallbackRequestLimiter,
  type RequestFallbackOptions,
} from './fallback.js';
export { rateLimitHeaders, type RateLimitHeaderValues } from './headers.js';
