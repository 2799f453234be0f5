/**
 * `@dingtalk-gateway/rate-limiter`: per-key limiting for the gateway, two algorithms side by side.
 *
 * - GCRA (rate + burst), for the tenants' budgets: `RateLimiter.limit(key, policy, cost)` with
 *   `MemoryRateLimiter` (one instance, bounded memory), `RedisRateLimiter` (shared across
 *   instances, one atomic Lua script on Redis time) and `NoopRateLimiter`; `rateLimitHeaders`
 *   turns a decision into IETF `RateLimit-Policy` / `RateLimit` / `Retry-After` values.
 * - Exact sliding window (at most `limit` per any `windowMs`), for DingTalk's own per-app, per-API
 *   QPS limit, which GCRA cannot express without trading burst for rate:
 *   `WindowLimiter.hit(key, policy)` with `MemoryWindowLimiter`, `RedisWindowLimiter` and
 *   `NoopWindowLimiter`.
 *
 * `withFallback` / `withWindowFallback` (one circuit breaker) decide what happens while Redis is
 * down; `local` (a per-instance memory limiter) is the default.
 *
 * This entry loads nothing but Web-standard JavaScript, on any runtime. The Redis limiters are
 * `@dingtalk-gateway/rate-limiter/redis` (they need ioredis, a Node-compatible runtime's TCP).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { rateLimitHeaders, withFallback, withWindowFallback, type FallbackCircuitOptions } from '@dingtalk-gateway/rate-limiter';
 * import { RedisRateLimiter, RedisWindowLimiter } from '@dingtalk-gateway/rate-limiter/redis';
 *
 * const redis = new Redis(process.env.REDIS_URL!);
 * const hooks: FallbackCircuitOptions = {
 *   onTrip: (err) => log.warn({ err }, 'rate limiter: Redis down, limiting per instance'),
 *   onRecover: () => log.info('rate limiter: Redis back'),
 * };
 * const tenantLimiter = withFallback(new RedisRateLimiter({ redis }), hooks);
 * const qpsGuard = withWindowFallback(new RedisWindowLimiter({ redis }), hooks);
 *
 * const policy = { rate: 10, burst: 20 }; // 10 req/s sustained, 20 at once
 * const decision = await tenantLimiter.limit(`tenant:${tenant.id}`, policy);
 * for (const [name, value] of Object.entries(rateLimitHeaders('tenant', policy, decision))) {
 *   c.header(name, value);
 * }
 * if (!decision.allowed) return c.json({ code: 'gateway.rateLimited', message: '...' }, 429);
 *
 * // DingTalk: "20 requests per second, the window is one second", per app and API.
 * const qps = await qpsGuard.hit(`app:${appId}:op:${operationId}`, { limit: 20, windowMs: 1000 });
 * if (!qps.allowed) c.header('Retry-After', String(Math.ceil(qps.retryAfterMs / 1000)));
 * ```
 */
export {
  RateLimiterUnavailableError,
  type Clock,
  type RateLimitDecision,
  type RateLimitPolicy,
  type RateLimiter,
  type RateLimiterUnavailableReason,
} from './interface.js';
export type { WindowDecision, WindowLimiter, WindowPolicy } from './window-interface.js';
export type { SweepOptions } from './sweep.js';
export { MemoryRateLimiter, type MemoryRateLimiterOptions } from './memory.js';
export { MemoryWindowLimiter, type MemoryWindowLimiterOptions } from './memory-window.js';
export { NoopRateLimiter, NoopWindowLimiter } from './noop.js';
export { type LimitCheck, type LimitOutcome, MemoryRequestLimiter, type RequestLimiter, SequentialRequestLimiter } from './request-limits.js';
export {
  withFallback,
  withWindowFallback,
  withRequestFallback,
  type FallbackCircuitOptions,
  type FallbackRequestLimiter,
  type RequestFallbackOptions,
  type FallbackMode,
  type FallbackOptions,
  type FallbackRateLimiter,
  type FallbackState,
  type FallbackWindowLimiter,
  type WindowFallbackOptions,
} from './fallback.js';
export { rateLimitHeaders, type RateLimitHeaderValues } from './headers.js';
/** The circuit breaker the Redis stores share (here: it needs no Redis client). */
export { Circuit } from './fallback.js';
