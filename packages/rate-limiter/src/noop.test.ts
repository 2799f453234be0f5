import { describe, expect, it } from 'vitest';
import { NoopRateLimiter } from './noop.js';

describe('NoopRateLimiter', () => {
  it('admits everything and reports a full bucket', async () => {
    const limiter = new NoopRateLimiter();
    for (let i = 0; i < 100; i++) {
      expect(await limiter.limit('k', { rate: 1, burst: 3 }, 2)).toEqual({
        allowed: true,
        limit: 3,
        remaining: 3,
        resetMs: 0,
        retryAfterMs: 0,
      });
    }
  });

  it('still rejects invalid policies, so misconfiguration shows up before production', async () => {
    await expect(new NoopRateLimiter().limit('k', { rate: 0, burst: 1 })).rejects.toThrow(RangeError);
  });
});
