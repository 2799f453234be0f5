/**
 * `@dingtalk-gateway/rate-limiter/redis`: the request limits shared through Redis (ioredis), and
 * the plumbing the other Redis stores reuse (one deadline per call, one way to define a Lua
 * script). Apart from the package's index so that code which never talks to Redis never loads
 * ioredis.
 *
 * ```ts
 * import { withRequestFallback } from '@dingtalk-gateway/rate-limiter';
 * import { RedisRequestLimiter } from '@dingtalk-gateway/rate-limiter/redis';
 * const limits = withRequestFallback(new RedisRequestLimiter({ redis, ratePrefix: 'dtg:rl:', windowPrefix: 'dtg:qps:' }));
 * ```
 */
export { RedisRequestLimiter, type RedisRequestLimiterOptions } from './redis-request.js';
export { callRedis, defineScript } from './redis-script.js';
