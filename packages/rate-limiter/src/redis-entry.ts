/**
 * `@dingtalk-gateway/rate-limiter/redis`: the limiters shared through Redis (ioredis), and the
 * plumbing the other Redis stores reuse (one deadline per call, one way to define a Lua script).
 * Apart from the package's index so that code which never talks to Redis never loads ioredis.
 *
 * ```ts
 * import { RedisRequestLimiter } from '@dingtalk-gateway/rate-limiter/redis';
 * const limits = new RedisRequestLimiter({ redis, keyPrefix: 'dtg:' });
 * ```
 */
export type { RedisLimiterOptions } from './redis-script.js';
export { RedisRateLimiter, type RedisRateLimiterOptions } from './redis.js';
export { RedisWindowLimiter, type RedisWindowLimiterOptions } from './redis-window.js';
export { RedisRequestLimiter, type RedisRequestLimiterOptions } from './redis-request.js';
export { callRedis, defineScript } from './redis-script.js';
