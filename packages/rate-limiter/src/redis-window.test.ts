/**
 * Runs against a real Redis at REDIS_URL (default redis://127.0.0.1:6379). Unreachable Redis
 * skips these tests locally, and fails them when CI=true. Keys live under a per-run prefix and are
 * deleted afterwards; nothing here flushes scripts or data other tests on the same Redis rely on.
 */
import { describe, expect, it } from 'vitest';
import { withWindowFallback } from './fallback.js';
import { RateLimiterUnavailableError } from './interface.js';
import { RedisWindowLimiter, WINDOW_LUA } from './redis-window.js';
import { checkRedis, clientVia, noscriptProxy, redisForTests, refusedRedis, withHungRedis } from '@dingtalk-gateway/test-support';

const unreachable = await checkRedis();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(unreachable !== undefined)('RedisWindowLimiter (real Redis)', () => {
  const prefix = `dtg:rlw:test:${process.pid}:${Date.now()}:`;
  // Generous, as in redis.test.ts: these tests are about decisions; the timeout has its own test.
  const timeoutMs = 2000;
  const redisTests = redisForTests(prefix);
  const client = () => redisTests.client();

  /** The admissions in a key's log: [member, score in µs] in score order. */
  async function log(key: string): Promise<Array<[string, number]>> {
    const flat = await redisTests.admin.zrange(prefix + key, 0, -1, 'WITHSCORES');
    const pairs: Array<[string, number]> = [];
    for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, Number(flat[i + 1])]);
    return pairs;
  }

  async function redisTimeUs(): Promise<number> {
    const [seconds, micros] = await redisTests.admin.time();
    return Number(seconds) * 1e6 + Number(micros);
  }



  it('admits a full burst, then denies until the oldest admission leaves, on Redis TIME', async () => {
    const limiter = new RedisWindowLimiter({ redis: client(), prefix, timeoutMs });
    const policy = { limit: 3, windowMs: 1000 };
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.hit('burst', policy));
    expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    // Bounds allow for a slow machine between the calls; Redis time decides, not ours.
    expect(decisions[3]!.retryAfterMs).toBeGreaterThan(500);
    expect(decisions[3]!.retryAfterMs).toBeLessThanOrEqual(1000);

    const entries = await log('burst');
    expect(entries).toHaveLength(3); // the denial recorded nothing
    // Exactly until the oldest leaves (its score + the window), bracketed by Redis TIME around the call.
    const leavesUs = entries[0]![1] + 1_000_000;
    const before = await redisTimeUs();
    const denied = await limiter.hit('burst', policy);
    const after = await redisTimeUs();
    expect(denied.allowed).toBe(false);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(Math.ceil((leavesUs - before) / 1000));
    expect(denied.retryAfterMs).toBeGreaterThanOrEqual(Math.ceil((leavesUs - after) / 1000));
  });

  it('admits again once the oldest admission has left the window', async () => {
    const limiter = new RedisWindowLimiter({ redis: client(), prefix, timeoutMs });
    const policy = { limit: 2, windowMs: 40 };
    expect((await limiter.hit('slide', policy)).allowed).toBe(true);
    expect((await limiter.hit('slide', policy)).allowed).toBe(true);
    const denied = await limiter.hit('slide', policy);
    expect(denied.allowed).toBe(false);
    await sleep(denied.retryAfterMs + 1);
    expect(await limiter.hit('slide', policy)).toMatchObject({ allowed: true });
  });

  it('never admits more than limit in any window with two clients hammering one key', async () => {
    // Two clients = two gateway instances, 4 request loops each. Meanwhile a third connection
    // snapshots the key's log often enough (every ~20 ms, members stay >= 250 ms) to collect every
    // admission with its exact Redis time, so the check below is the definition, not a sample.
    const a = new RedisWindowLimiter({ redis: client(), prefix, timeoutMs });
    const b = new RedisWindowLimiter({ redis: client(), prefix, timeoutMs });
    const policy = { limit: 10, windowMs: 250 };
    const windowUs = policy.windowMs * 1000;
    const durationMs = 1500;
    let admitted = 0;
    let total = 0;
    let running = true;
    const seen = new Map<string, number>();
    const snapshot = async () => {
      for (const [member, score] of await log('shared')) seen.set(member, score);
    };
    const snapshots = (async () => {
      while (running) {
        await snapshot();
        await sleep(20);
      }
    })();
    const started = performance.now();
    const deadline = started + durationMs;
    const loop = async (limiter: RedisWindowLimiter) => {
      while (performance.now() < deadline) {
        total++;
        if ((await limiter.hit('shared', policy)).allowed) admitted++;
      }
    };
    await Promise.all([a, a, a, a, b, b, b, b].map(loop));
    const elapsedMs = performance.now() - started;
    running = false;
    await snapshots;
    await snapshot(); // the last window's admissions are all still in the log

    expect(total).toBeGreaterThan(2 * admitted); // the key really was under pressure (more refused than admitted)
    expect(seen.size).toBe(admitted); // every admission recorded once, none overwritten
    const times = [...seen.values()].sort((x, y) => x - y);
    for (let i = 0; i + policy.limit < times.length; i++) {
      // Any limit + 1 admissions span at least a window: no window ever held more than limit.
      expect(times[i + policy.limit]! - times[i]!).toBeGreaterThanOrEqual(windowUs);
    }
    expect(admitted).toBeLessThanOrEqual(policy.limit * Math.ceil(elapsedMs / policy.windowMs));
    expect(admitted).toBeGreaterThanOrEqual(policy.limit * Math.floor(elapsedMs / policy.windowMs));
  });

  it('records two admissions in the same microsecond as two', async () => {
    // Redis TIME cannot be stopped, so make the limiter's first-choice member names exist already:
    // in one MULTI, a script names members after a stretch of microseconds just ahead (score: now,
    // so they count as in the window) and waits until that stretch begins; the limiter's script
    // runs right after it, at a microsecond whose name is taken.
    const key = `${prefix}same-us`;
    // Longer than seeding the set takes, so the seed really waits for the stretch to begin.
    const aheadUs = 500_000;
    // Wide enough (100 ms) that the limiter lands inside it even when Redis is descheduled between
    // the two scripts on a loaded machine (20 ms was not: it failed once in a full test run).
    const names = 100_000;
    const seed = `
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
      local from = now + tonumber(ARGV[1])
      local score = string.format('%.0f', now)
      local args = {}
      for i = 0, tonumber(ARGV[2]) - 1 do
        args[#args + 1] = score
        args[#args + 1] = string.format('%.0f', from + i)
        if #args == 2000 then redis.call('ZADD', KEYS[1], unpack(args)); args = {} end -- unpack has a stack limit
      end
      if #args > 0 then redis.call('ZADD', KEYS[1], unpack(args)) end
      repeat t = redis.call('TIME') until tonumber(t[1]) * 1000000 + tonumber(t[2]) >= from
      return string.format('%.0f', from)
    `;
    const limit = names + 10;
    const windowUs = 10_000_000;
    await redisTests.admin.script('LOAD', WINDOW_LUA); // compiled before the MULTI, so it starts at once
    const results = await redisTests.admin.multi().eval(seed, 1, key, aheadUs, names).eval(WINDOW_LUA, 1, key, limit, windowUs).exec();
    expect(results?.map(([err]) => err)).toEqual([null, null]);
    const from = Number(results![0]![1]);
    expect(results![1]![1]).toEqual([1, names + 1, 0]);

    expect(await redisTests.admin.zcard(key)).toBe(names + 1);
    const [member, score] = await redisTests.admin.zrangebyscore(key, `(${from - aheadUs}`, '+inf', 'WITHSCORES');
    expect(Number(score)).toBeGreaterThanOrEqual(from);
    expect(Number(score)).toBeLessThan(from + names); // it did land on a taken name...
    expect(member).toBe(`${score}-1`); // ...and was recorded under a fresh one
  });

  it('expires a key when its newest admission leaves the window', async () => {
    const limiter = new RedisWindowLimiter({ redis: client(), prefix, timeoutMs });
    expect((await limiter.hit('ttl', { limit: 5, windowMs: 1000 })).allowed).toBe(true);
    const pttl = await redisTests.admin.pttl(`${prefix}ttl`);
    expect(pttl).toBeGreaterThan(900);
    // Redis expires in whole ms, rounded up from the admission's µs: at most 1 ms past the window.
    expect(pttl).toBeLessThanOrEqual(1001);

    await limiter.hit('expires', { limit: 5, windowMs: 10 });
    await sleep(30);
    expect(await redisTests.admin.exists(`${prefix}expires`)).toBe(0);
  });

  it('applies a lowered limit to the log as it is', async () => {
    const limiter = new RedisWindowLimiter({ redis: client(), prefix, timeoutMs });
    for (let i = 0; i < 3; i++) {
      if (i > 0) await sleep(30); // spaced, so "the oldest" and "the second oldest" differ
      expect((await limiter.hit('lowered', { limit: 3, windowMs: 1000 })).allowed).toBe(true);
    }
    const entries = await log('lowered');
    const before = await redisTimeUs();
    const denied = await limiter.hit('lowered', { limit: 2, windowMs: 1000 });
    const after = await redisTimeUs();
    expect(denied.allowed).toBe(false);
    // 3 in the window, so 2 must leave: the wait is until the second oldest does.
    const leavesUs = entries[1]![1] + 1_000_000;
    expect(denied.retryAfterMs).toBeLessThanOrEqual(Math.ceil((leavesUs - before) / 1000));
    expect(denied.retryAfterMs).toBeGreaterThanOrEqual(Math.ceil((leavesUs - after) / 1000));
  });

  it('shares one defined command between limiters on the same client; prefixes isolate', async () => {
    const redis = client();
    const one = new RedisWindowLimiter({ redis, prefix: `${prefix}one:`, timeoutMs });
    const two = new RedisWindowLimiter({ redis, prefix: `${prefix}two:`, timeoutMs });
    const policy = { limit: 1, windowMs: 1000 };
    expect((await one.hit('k', policy)).allowed).toBe(true);
    expect((await one.hit('k', policy)).allowed).toBe(false);
    expect((await two.hit('k', policy)).allowed).toBe(true);
  });

  it('recovers from NOSCRIPT, counting the hit exactly once', async () => {
    // A proxy answers one EVALSHA with Redis's NOSCRIPT error (as after SCRIPT FLUSH, a restart or
    // a failover) instead of flushing the script cache under the other tests.
    const proxy = await noscriptProxy();
    const redis = clientVia(proxy.port);
    try {
      const limiter = new RedisWindowLimiter({ redis, prefix, timeoutMs });
      const policy = { limit: 5, windowMs: 10_000 };
      expect(await limiter.hit('noscript', policy)).toMatchObject({ allowed: true, remaining: 4 });
      proxy.failNextEvalsha();
      expect(await limiter.hit('noscript', policy)).toMatchObject({ allowed: true, remaining: 3 });
      expect(await limiter.hit('noscript', policy)).toMatchObject({ allowed: true, remaining: 2 });
      expect(await log('noscript')).toHaveLength(3);
      // First use on the connection, the refused EVALSHA, its resend, then the script by SHA again.
      expect(proxy.commands.filter((name) => name.startsWith('eval'))).toEqual(['eval', 'evalsha', 'eval', 'evalsha']);
    } finally {
      redis.disconnect();
      await proxy.close();
    }
  });

  it('rejects invalid policies before calling Redis', async () => {
    const limiter = new RedisWindowLimiter({ redis: client(), prefix, timeoutMs });
    await expect(limiter.hit('k', { limit: 0, windowMs: 1000 })).rejects.toThrow(RangeError);
    await expect(limiter.hit('k', { limit: 1, windowMs: 0 })).rejects.toThrow(RangeError);
    expect(await redisTests.admin.exists(`${prefix}k`)).toBe(0);
  });

  it('throws RateLimiterUnavailableError(timeout) when Redis does not answer in time', async () => {
    await withHungRedis(async (hung) => {
      const limiter = new RedisWindowLimiter({ redis: hung, prefix, timeoutMs: 50 });
      const started = performance.now();
      const error = await limiter.hit('k', { limit: 1, windowMs: 1000 }).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(RateLimiterUnavailableError);
      expect(error).toMatchObject({ reason: 'timeout' });
      expect(performance.now() - started).toBeLessThan(500);
    });
  });

  it('throws RateLimiterUnavailableError(error) when the connection is refused', async () => {
    const refused = refusedRedis();
    const limiter = new RedisWindowLimiter({ redis: refused, prefix });
    const error = await limiter.hit('k', { limit: 1, windowMs: 1000 }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RateLimiterUnavailableError);
    expect(error).toMatchObject({ reason: 'error' });
    expect((error as Error).cause).toBeInstanceOf(Error);
    refused.disconnect();
  });

  it('withWindowFallback limits locally while Redis is down and returns to it when it is back', async () => {
    const redis = redisTests.client({ lazyConnect: true });
    await redis.connect();
    const clock = { t: 0, now() { return this.t; } };
    const events: string[] = [];
    const limiter = withWindowFallback(new RedisWindowLimiter({ redis, prefix, timeoutMs }), {
      clock,
      onTrip: (err) => events.push(`trip:${err.reason}`),
      onRecover: () => events.push('recover'),
    });
    const policy = { limit: 2, windowMs: 10_000 };
    expect(await limiter.hit('fb', policy)).toMatchObject({ allowed: true, remaining: 1 });

    redis.disconnect(); // later commands fail fast with "Connection is closed."
    expect(await limiter.hit('fb', policy)).toMatchObject({ allowed: true, remaining: 1 }); // local log
    expect(limiter.state).toBe('fallback');

    await redis.connect();
    clock.t = 1000;
    // The probe goes to Redis, where the first admission is still in the window.
    expect(await limiter.hit('fb', policy)).toMatchObject({ allowed: true, remaining: 0 });
    expect(limiter.state).toBe('primary');
    expect(events).toEqual(['trip:error', 'recover']);
  });
});
