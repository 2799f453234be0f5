/**
 * Test helpers shared by the packages' tests (never imported by production code).
 *
 * ```ts
 * import { checkRedis, REDIS_URL } from '@dingtalk-gateway/test-support';
 * const unreachable = await checkRedis(); // fails the suite when CI=true and Redis is down
 * describe.skipIf(unreachable)('with Redis', () => { ... });
 * ```
 */
export * from './random.js';
export * from './redis.js';
