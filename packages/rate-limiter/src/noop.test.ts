import { describe, expect, it } from 'vitest';
import { NoopRateLimiter, NoopWindowLimiter } from './noop.js';

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

describe('NoopWindowLimiter', () => {
  it('admits everything and reports the whole limit left', async () => {
    const limiter = new NoopWindowLimiter();
    for (let i = 0; i < 100; i++) {
      expect(await limiter.hit('k', { limit: 20, windowMs: 1000 })).toEqual({ allowed: true, remaining: 20, retryAfterMs: 0 });
    }
  });

  it('still rejects invalid policies', async () => {
    await expect(new NoopWindowLimiter().hit('k', { limit: 1, windowMs: 0 })).rejects.toThrow(RangeError);
  });
});
