/**
 * Deleting a run's keys from a shared Redis, without vitest: tests use it through the package's
 * main entry, the soak (a program, not a test) through `@dingtalk-gateway/test-support/redis-keys`.
 */
import type { Redis } from 'ioredis';

/** Delete every key under `prefix` (SCAN, so it is safe on a Redis shared with other tests). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
