/**
 * `@dingtalk-gateway/rate-limiter`: per-key GCRA limiting (rate + burst) for the gateway's tenants.
 *
 * One interface (`RateLimiter.limit(key, policy, cost)`), implementations side by side:
 * `MemoryRateLimiter` (one instance, bounded memory), `RedisRateLimiter` (shared across instances,
 * one atomic Lua script on Redis time), `NoopRateLimiter`; `withFallback` decides what happens
 * while Redis is down; `rateLimitHeaders` turns a decision into IETF `RateLimit-Policy` /
 * `RateLimit` / `Retry-After` values.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisRateLimiter, rateLimitHeaders, withFallback } from '@dingtalk-gateway/rate-limiter';
 *
 * const tenantLimiter = withFallback(new RedisRateLimiter({ redis: new Redis(process.env.REDIS_URL!) }), {
 *   onTrip: (err) => log.warn({ err }, 'rate limiter: Redis down, limiting per instance'),
 *   onRecover: () => log.info('rate limiter: Redis back'),
 * });
 *
 * const policy = { rate: 10, burst: 20 }; // 10 req/s sustained, 20 at once
 * const decision = await tenantLimiter.limit(`tenant:${tenant.id}`, policy);
 * for (const [name, value] of Object.entries(rateLimitHeaders('tenant', policy, decision))) {
 *   c.header(name, value);
 * }
 * if (!decision.allowed) return c.json({ code: 'gateway.rateLimited', message: '...' }, 429);
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
export { MemoryRateLimiter, type MemoryRateLimiterOptions } from './memory.js';
export { RedisRateLimiter, type RedisRateLimiterOptions } from './redis.js';
export { NoopRateLimiter } from './noop.js';
export {
  withFallback,
  type FallbackMode,
  type FallbackOptions,
  type FallbackRateLimiter,
} from './fallback.js';
export { rateLimitHeaders, type RateLimitHeaderValues } from './headers.js';
