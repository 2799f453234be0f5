/**
 * Runs against a real Redis at REDIS_URL (default redis://127.0.0.1:6379). Unreachable Redis
 * skips these tests locally, and fails them when CI=true.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { withFallback } from './fallback.js';
import { RateLimiterUnavailableError } from './interface.js';
import { GCRA_LUA, RedisRateLimiter } from './redis.js';
import { checkRedis, redisForTests, refusedRedis, withHungRedis } from '@dingtalk-gateway/test-support';

const unreachable = await checkRedis();

describe.skipIf(unreachable !== undefined)('RedisRateLimiter (real Redis)', () => {
  const prefix = `dtg:rl:test:${process.pid}:${Date.now()}:`;
  // Generous: these tests are about decisions, and a loaded CI machine can stall a worker's event
  // loop past the 50 ms production default. The timeout itself is tested with its own server.
  const timeoutMs = 2000;
  const redisTests = redisForTests(prefix);
  const client = () => redisTests.client();



  it('admits a burst, then denies with a retry time, using Redis TIME', async () => {
    const limiter = new RedisRateLimiter({ redis: client(), prefix, timeoutMs });
    const policy = { rate: 1, burst: 3 };
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.limit('burst', policy));
    expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    const denied = decisions[3]!;
    expect(denied.limit).toBe(3);
    // Bounds allow for a slow machine between the calls; Redis time decides, not ours.
    expect(denied.retryAfterMs).toBeGreaterThan(500);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(1000);
    expect(denied.resetMs).toBeGreaterThan(2500);
    expect(denied.resetMs).toBeLessThanOrEqual(3000);
  });

  it('stores keys under the prefix with a TTL equal to the time until the bucket is full', async () => {
    const limiter = new RedisRateLimiter({ redis: client(), prefix, timeoutMs });
    const decision = await limiter.limit('ttl', { rate: 2, burst: 5 }, 3);
    expect(decision).toMatchObject({ allowed: true, remaining: 2 });
    const pttl = await redisTests.admin.pttl(`${prefix}ttl`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(decision.resetMs); // 1500 ms, minus the time since

    await limiter.limit('expires', { rate: 100, burst: 1 }); // full again after 10 ms
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(await redisTests.admin.exists(`${prefix}expires`)).toBe(0);
  });

  it('handles fractional rates, cost > 1, cost > burst and cost 0', async () => {
    const limiter = new RedisRateLimiter({ redis: client(), prefix, timeoutMs });
    const slow = { rate: 0.5, burst: 1 };
    expect(await limiter.limit('frac', slow)).toMatchObject({ allowed: true, remaining: 0 });
    const denied = await limiter.limit('frac', slow);
    expect(denied.allowed).toBe(false);
    expect(denied.retryAfterMs).toBeGreaterThan(1500);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(2000);

    const policy = { rate: 1, burst: 5 };
    expect(await limiter.limit('cost', policy, 6)).toMatchObject({
      allowed: false,
      remaining: 5,
      retryAfterMs: Number.POSITIVE_INFINITY,
    });
    expect(await limiter.limit('cost', policy, 3)).toMatchObject({ allowed: true, remaining: 2 });
    expect(await limiter.limit('cost', policy, 3)).toMatchObject({ allowed: false, remaining: 2 });
    expect(await limiter.limit('cost', policy, 0)).toMatchObject({ allowed: true, remaining: 2 });
    expect(await limiter.limit('cost', policy, 2)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('shares one budget across two clients hammering the same key concurrently', async () => {
    // Two clients = two gateway instances. Each runs 4 request loops for ~2 s.
    const a = new RedisRateLimiter({ redis: client(), prefix, timeoutMs });
    const b = new RedisRateLimiter({ redis: client(), prefix, timeoutMs });
    // A rate low enough that the loops outrun it even on a loaded machine (the lower bound below
    // only means something while the key is contended).
    const policy = { rate: 10, burst: 5 };
    const durationMs = 2000;
    let admitted = 0;
    let total = 0;
    const started = performance.now();
    const deadline = started + durationMs;
    const loop = async (limiter: RedisRateLimiter) => {
      while (performance.now() < deadline) {
        total++;
        if ((await limiter.limit('shared', policy)).allowed) admitted++;
      }
    };
    await Promise.all([a, a, a, a, b, b, b, b].map(loop));
    const elapsedS = (performance.now() - started) / 1000;
    const ideal = policy.rate * elapsedS + policy.burst;
    expect(total).toBeGreaterThan(10 * ideal); // the key really was under pressure
    expect(admitted).toBeLessThanOrEqual(ideal + 2);
    expect(admitted).toBeGreaterThanOrEqual(0.95 * ideal);
  });

  it('shares one defined command between limiters on the same client; prefixes isolate', async () => {
    const redis = client();
    const one = new RedisRateLimiter({ redis, prefix: `${prefix}one:`, timeoutMs });
    const two = new RedisRateLimiter({ redis, prefix: `${prefix}two:`, timeoutMs });
    const policy = { rate: 1, burst: 1 };
    expect((await one.limit('k', policy)).allowed).toBe(true);
    expect((await one.limit('k', policy)).allowed).toBe(false);
    expect((await two.limit('k', policy)).allowed).toBe(true);
  });

  it('recovers from NOSCRIPT after SCRIPT FLUSH', async () => {
    const limiter = new RedisRateLimiter({ redis: client(), prefix, timeoutMs });
    const sha = createHash('sha1').update(GCRA_LUA).digest('hex');
    const policy = { rate: 1, burst: 2 };
    expect((await limiter.limit('noscript', policy)).allowed).toBe(true);
    expect(await redisTests.admin.script('EXISTS', sha)).toEqual([1]);
    await redisTests.admin.script('FLUSH');
    expect(await redisTests.admin.script('EXISTS', sha)).toEqual([0]);
    expect(await limiter.limit('noscript', policy)).toMatchObject({ allowed: true, remaining: 0 });
    expect(await redisTests.admin.script('EXISTS', sha)).toEqual([1]);
  });

  it('rejects invalid input before calling Redis', async () => {
    const limiter = new RedisRateLimiter({ redis: client(), prefix, timeoutMs });
    await expect(limiter.limit('k', { rate: 1, burst: 0 })).rejects.toThrow(RangeError);
    await expect(limiter.limit('k', { rate: 1, burst: 1 }, -1)).rejects.toThrow(RangeError);
  });

  it('throws RateLimiterUnavailableError(timeout) when Redis does not answer in time', async () => {
    await withHungRedis(async (hung) => {
      const limiter = new RedisRateLimiter({ redis: hung, prefix, timeoutMs: 50 });
      const started = performance.now();
      const error = await limiter.limit('k', { rate: 1, burst: 1 }).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(RateLimiterUnavailableError);
      expect(error).toMatchObject({ reason: 'timeout' });
      expect(performance.now() - started).toBeLessThan(500);
    });
  });

  it('throws RateLimiterUnavailableError(error) when the connection is refused', async () => {
    const refused = refusedRedis();
    const limiter = new RedisRateLimiter({ redis: refused, prefix });
    const error = await limiter.limit('k', { rate: 1, burst: 1 }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RateLimiterUnavailableError);
    expect(error).toMatchObject({ reason: 'error' });
    expect((error as Error).cause).toBeInstanceOf(Error);
    refused.disconnect();
  });

  it('withFallback trips when the Redis connection closes and recovers when it is back', async () => {
    const redis = redisTests.client({ lazyConnect: true });
    await redis.connect();
    const clock = { t: 0, now() { return this.t; } };
    const events: string[] = [];
    const limiter = withFallback(new RedisRateLimiter({ redis, prefix, timeoutMs }), {
      clock,
      onTrip: (err) => events.push(`trip:${err.reason}`),
      onRecover: () => events.push('recover'),
    });
    const policy = { rate: 1, burst: 2 };
    expect(await limiter.limit('fb', policy)).toMatchObject({ allowed: true, remaining: 1 });

    redis.disconnect(); // later commands fail fast with "Connection is closed."
    expect(await limiter.limit('fb', policy)).toMatchObject({ allowed: true, remaining: 1 }); // local bucket
    expect(limiter.state).toBe('fallback');

    await redis.connect();
    clock.t = 1000;
    // The probe goes to Redis, where one of the two units is still spent (refilling at 1/s).
    const recovered = await limiter.limit('fb', policy);
    expect(recovered.allowed).toBe(true);
    expect(limiter.state).toBe('primary');
    expect(events).toEqual(['trip:error', 'recover']);
  });
});
