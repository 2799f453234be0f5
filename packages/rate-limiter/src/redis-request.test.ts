/**
 * Runs against a real Redis at REDIS_URL (default redis://127.0.0.1:6379). Unreachable Redis
 * skips these tests locally, and fails them when CI=true. Keys live under a per-run prefix and are
 * deleted afterwards; nothing here flushes scripts or data other tests on the same Redis rely on.
 */
import { checkRedis, clientVia, noscriptProxy, redisForTests, refusedRedis, seededRandom, withHungRedis } from '@dingtalk-gateway/test-support';
import { Cluster, type Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { withRequestFallback } from './fallback.js';
import { RateLimiterUnavailableError } from './interface.js';
import { RedisRequestLimiter, type RedisRequestLimiterOptions, requestLua } from './redis-request.js';
import { type LimitCheck, type LimitOutcome, MemoryRequestLimiter } from './request-limits.js';

const unreachable = await checkRedis();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A request's checks as the gateway makes them: an operation limit, the tenant's, DingTalk's QPS guard. */
const checksOf = (id: string): LimitCheck[] => [
  { kind: 'rate', key: `tenant:${id}:op:add`, policy: { rate: 1, burst: 4 } },
  { kind: 'rate', key: `tenant:${id}`, policy: { rate: 1, burst: 3 } },
  { kind: 'window', key: `app:${id}:op:add`, policy: { limit: 2, windowMs: 10_000 } },
];

/** What a test can compare exactly: which limit decided what, and what was left. */
const summary = (outcomes: LimitOutcome[]) => outcomes.map((o) => [o.kind, o.decision.allowed, o.decision.remaining]);

/** The one decision of a request of one check. */
const decisionOf = async (pending: Promise<LimitOutcome[]>) => (await pending)[0]!.decision;

describe('RedisRequestLimiter (a client answering nonsense)', () => {
  /** A stand-in ioredis client whose script command answers `reply`. */
  const answering = (reply: unknown) => {
    const client: Record<string, unknown> = {
      defineCommand(name: string) {
        client[name] = async () => reply;
      },
    };
    return client as unknown as Redis;
  };
  const one: LimitCheck[] = [{ kind: 'rate', key: 't', policy: { rate: 1, burst: 2 } }];

  it('answers the requests its reply covers and fails the others as Redis failing: none is left waiting', async () => {
    const limiter = new RedisRequestLimiter({ redis: answering([1, 1, '1000', '0']) });
    const [first, second] = await Promise.allSettled([limiter.check(one), limiter.check(one)]);
    expect(first).toMatchObject({ status: 'fulfilled', value: [{ kind: 'rate', decision: { allowed: true, remaining: 1 } }] });
    expect(second).toMatchObject({ status: 'rejected', reason: { name: 'RateLimiterUnavailableError', reason: 'error' } });
  });

  it.each([['OK'], [[]], [[7, 1, '0', '0']], [null]])('fails every request of the run on the reply %j', async (reply) => {
    const limiter = new RedisRequestLimiter({ redis: answering(reply) });
    const error = await limiter.check(one).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RateLimiterUnavailableError);
    expect((error as Error).message).toMatch(/unexpected reply from Redis/);
  });
});

describe.skipIf(unreachable !== undefined)('RedisRequestLimiter (real Redis)', () => {
  const run = `${process.pid}:${Date.now()}`;
  const prefixes = { rate: `dtg:rq:test:${run}:rl:`, window: `dtg:rq:test:${run}:rlw:` };
  // Generous: these tests are about decisions, and a loaded CI machine can stall a worker's event
  // loop past the 50 ms production default. The timeout itself is tested with its own server.
  const timeoutMs = 2000;
  const redisTests = redisForTests(`dtg:rq:test:${run}:`);
  const client = () => redisTests.client();
  const limiterOn = (redis: Redis, options: Partial<RedisRequestLimiterOptions> = {}) =>
    new RedisRequestLimiter({ redis, ratePrefix: prefixes.rate, windowPrefix: prefixes.window, timeoutMs, ...options });
  const rate = (key: string, policy: { rate: number; burst: number }): LimitCheck[] => [{ kind: 'rate', key, policy }];
  const window = (key: string, policy: { limit: number; windowMs: number }): LimitCheck[] => [{ kind: 'window', key, policy }];

  /** The admissions in a window key's log: [member, score in µs] in score order. */
  async function log(key: string): Promise<Array<[string, number]>> {
    const flat = await redisTests.admin.zrange(prefixes.window + key, 0, -1, 'WITHSCORES');
    const pairs: Array<[string, number]> = [];
    for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, Number(flat[i + 1])]);
    return pairs;
  }

  async function redisTimeUs(): Promise<number> {
    const [seconds, micros] = await redisTests.admin.time();
    return Number(seconds) * 1e6 + Number(micros);
  }

  /** The decisions of `n` requests of one check sent one after another. */
  async function oneByOne(limiter: RedisRequestLimiter, checks: LimitCheck[], n: number) {
    const decisions = [];
    for (let i = 0; i < n; i++) decisions.push(await decisionOf(limiter.check(checks)));
    return decisions;
  }

  /** Two clients (two gateway instances), 4 request loops each, sending requests of one check for `durationMs`. */
  async function hammer(checks: LimitCheck[], durationMs: number) {
    const a = limiterOn(client());
    const b = limiterOn(client());
    let admitted = 0;
    let total = 0;
    const started = performance.now();
    const deadline = started + durationMs;
    const loop = async (limiter: RedisRequestLimiter) => {
      while (performance.now() < deadline) {
        total++;
        if ((await decisionOf(limiter.check(checks))).allowed) admitted++;
      }
    };
    await Promise.all([a, a, a, a, b, b, b, b].map(loop));
    return { admitted, total, elapsedMs: performance.now() - started };
  }

  /** A burst of 3 from idle, then the 4th refused: [allowed, remaining] of each. */
  const BURST_OF_THREE = [
    [true, 2],
    [true, 1],
    [true, 0],
    [false, 0],
  ];

  describe('rate checks (GCRA)', () => {
    it('admit a burst, then deny with a retry time, using Redis TIME', async () => {
      const decisions = await oneByOne(limiterOn(client()), rate('burst', { rate: 1, burst: 3 }), 4);
      expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual(BURST_OF_THREE);
      const denied = decisions[3]!;
      expect(denied).toMatchObject({ limit: 3 });
      // Bounds allow for a slow machine between the calls; Redis time decides, not ours.
      expect(denied.retryAfterMs).toBeGreaterThan(500);
      expect(denied.retryAfterMs).toBeLessThanOrEqual(1000);
      expect('resetMs' in denied && denied.resetMs).toBeGreaterThan(2500);
      expect('resetMs' in denied && denied.resetMs).toBeLessThanOrEqual(3000);
    });

    it('store a bucket under ratePrefix with a TTL equal to the time until it is full', async () => {
      const limiter = limiterOn(client());
      const decision = await decisionOf(limiter.check(rate('ttl', { rate: 2, burst: 5 })));
      expect(decision).toMatchObject({ allowed: true, remaining: 4, resetMs: 500 });
      const pttl = await redisTests.admin.pttl(`${prefixes.rate}ttl`);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(500); // 500 ms, minus the time since

      await limiter.check(rate('expires', { rate: 100, burst: 1 })); // full again after 10 ms
      await sleep(30);
      expect(await redisTests.admin.exists(`${prefixes.rate}expires`)).toBe(0);
    });

    it('handle fractional rates: 0.5/s is one request every two seconds', async () => {
      const limiter = limiterOn(client());
      const slow = { rate: 0.5, burst: 1 };
      expect(await decisionOf(limiter.check(rate('frac', slow)))).toMatchObject({ allowed: true, remaining: 0 });
      const denied = await decisionOf(limiter.check(rate('frac', slow)));
      expect(denied.allowed).toBe(false);
      expect(denied.retryAfterMs).toBeGreaterThan(1500);
      expect(denied.retryAfterMs).toBeLessThanOrEqual(2000);
    });

    it('share one budget across two clients hammering the same key concurrently', async () => {
      // A rate low enough that the loops outrun it even on a loaded machine (the lower bound below
      // only means something while the key is contended).
      const policy = { rate: 10, burst: 5 };
      const { admitted, total, elapsedMs } = await hammer(rate('shared', policy), 2000);
      const ideal = (policy.rate * elapsedMs) / 1000 + policy.burst;
      expect(total).toBeGreaterThan(10 * ideal); // the key really was under pressure
      expect(admitted).toBeLessThanOrEqual(ideal + 2);
      expect(admitted).toBeGreaterThanOrEqual(0.95 * ideal);
    });
  });

  describe('window checks (sliding window)', () => {
    it('admit a full burst, then deny until the oldest admission leaves, on Redis TIME', async () => {
      const limiter = limiterOn(client());
      const policy = { limit: 3, windowMs: 1000 };
      const decisions = await oneByOne(limiter, window('burst', policy), 4);
      expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual(BURST_OF_THREE);
      // Bounds allow for a slow machine between the calls; Redis time decides, not ours.
      expect(decisions[3]!.retryAfterMs).toBeGreaterThan(500);
      expect(decisions[3]!.retryAfterMs).toBeLessThanOrEqual(1000);

      const entries = await log('burst');
      expect(entries).toHaveLength(3); // the denial recorded nothing
      // Exactly until the oldest leaves (its score + the window), bracketed by Redis TIME around the call.
      const leavesUs = entries[0]![1] + 1_000_000;
      const before = await redisTimeUs();
      const denied = await decisionOf(limiter.check(window('burst', policy)));
      const after = await redisTimeUs();
      expect(denied.allowed).toBe(false);
      expect(denied.retryAfterMs).toBeLessThanOrEqual(Math.ceil((leavesUs - before) / 1000));
      expect(denied.retryAfterMs).toBeGreaterThanOrEqual(Math.ceil((leavesUs - after) / 1000));
    });

    it('admit again once the oldest admission has left the window', async () => {
      const limiter = limiterOn(client());
      const policy = { limit: 2, windowMs: 40 };
      expect((await decisionOf(limiter.check(window('slide', policy)))).allowed).toBe(true);
      expect((await decisionOf(limiter.check(window('slide', policy)))).allowed).toBe(true);
      const denied = await decisionOf(limiter.check(window('slide', policy)));
      expect(denied.allowed).toBe(false);
      await sleep(denied.retryAfterMs + 1);
      expect(await decisionOf(limiter.check(window('slide', policy)))).toMatchObject({ allowed: true });
    });

    it('never admit more than limit in any window with two clients hammering one key', async () => {
      // Meanwhile a third connection snapshots the key's log often enough (every ~20 ms, members
      // stay >= 250 ms) to collect every admission with its exact Redis time, so the check below
      // is the definition, not a sample.
      const policy = { limit: 10, windowMs: 250 };
      const windowUs = policy.windowMs * 1000;
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
      const { admitted, total, elapsedMs } = await hammer(window('shared', policy), 1500);
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

    it('record two admissions in the same microsecond as two', async () => {
      // Redis TIME cannot be stopped, so make the limiter's first-choice member names exist already:
      // in one MULTI, a script names members after a stretch of microseconds just ahead (score: now,
      // so they count as in the window) and waits until that stretch begins; the limiter's script
      // runs right after it, at a microsecond whose name is taken.
      const key = `${prefixes.window}same-us`;
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
      const lua = requestLua();
      await redisTests.admin.script('LOAD', lua); // compiled before the MULTI, so it starts at once
      // One request of one window check and no companion, as RedisRequestLimiter sends it.
      const results = await redisTests.admin.multi().eval(seed, 1, key, aheadUs, names).eval(lua, 1, key, 1, 'window', limit, windowUs, 0, 0, 0).exec();
      expect(results?.map(([err]) => err)).toEqual([null, null]);
      const from = Number(results![0]![1]);
      expect(results![1]![1]).toEqual([1, 1, names + 1, 0]);

      expect(await redisTests.admin.zcard(key)).toBe(names + 1);
      const [member, score] = await redisTests.admin.zrangebyscore(key, `(${from - aheadUs}`, '+inf', 'WITHSCORES');
      expect(Number(score)).toBeGreaterThanOrEqual(from);
      expect(Number(score)).toBeLessThan(from + names); // it did land on a taken name...
      expect(member).toBe(`${score}-1`); // ...and was recorded under a fresh one
    });

    it('expire a key when its newest admission leaves the window', async () => {
      const limiter = limiterOn(client());
      expect((await decisionOf(limiter.check(window('ttl', { limit: 5, windowMs: 1000 })))).allowed).toBe(true);
      const pttl = await redisTests.admin.pttl(`${prefixes.window}ttl`);
      expect(pttl).toBeGreaterThan(900);
      // Redis expires in whole ms, rounded up from the admission's µs: at most 1 ms past the window.
      expect(pttl).toBeLessThanOrEqual(1001);

      await limiter.check(window('expires', { limit: 5, windowMs: 10 }));
      await sleep(30);
      expect(await redisTests.admin.exists(`${prefixes.window}expires`)).toBe(0);
    });

    it('apply a lowered limit to the log as it is', async () => {
      const limiter = limiterOn(client());
      for (let i = 0; i < 3; i++) {
        if (i > 0) await sleep(30); // spaced, so "the oldest" and "the second oldest" differ
        expect((await decisionOf(limiter.check(window('lowered', { limit: 3, windowMs: 1000 })))).allowed).toBe(true);
      }
      const entries = await log('lowered');
      const before = await redisTimeUs();
      const denied = await decisionOf(limiter.check(window('lowered', { limit: 2, windowMs: 1000 })));
      const after = await redisTimeUs();
      expect(denied.allowed).toBe(false);
      // 3 in the window, so 2 must leave: the wait is until the second oldest does.
      const leavesUs = entries[1]![1] + 1_000_000;
      expect(denied.retryAfterMs).toBeLessThanOrEqual(Math.ceil((leavesUs - before) / 1000));
      expect(denied.retryAfterMs).toBeGreaterThanOrEqual(Math.ceil((leavesUs - after) / 1000));
    });
  });

  it("decides a request's checks in order, stopping at the first refusal, as the in-process limiter does", async () => {
    const onRedis = limiterOn(client());
    const inProcess = new MemoryRequestLimiter();
    const viaRedis: unknown[] = [];
    const viaMemory: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      viaRedis.push(summary(await onRedis.check(checksOf('in-order'))));
      viaMemory.push(summary(inProcess.check(checksOf('in-order'))));
    }
    expect(viaRedis).toEqual(viaMemory);
    // The QPS guard (2 per window) refuses the 3rd request; the operation and tenant limits had
    // counted it already. The 4th: the tenant's burst of 3 is spent, so the guard is not asked.
    expect(viaRedis).toEqual([
      [['rate', true, 3], ['rate', true, 2], ['window', true, 1]],
      [['rate', true, 2], ['rate', true, 1], ['window', true, 0]],
      [['rate', true, 1], ['rate', true, 0], ['window', false, 0]],
      [['rate', true, 0], ['rate', false, 0]],
      [['rate', false, 0]],
    ]);
  });

  it('agrees with the in-process limiter on mixed requests: any order of checks, several keys', async () => {
    const onRedis = limiterOn(client());
    const inProcess = new MemoryRequestLimiter();
    // Slow rates and long windows: the few ms between the two sides' calls change no decision.
    const shapes = (who: number): LimitCheck[][] => [
      [{ kind: 'rate', key: `mixed:t${who}`, policy: { rate: 0.5, burst: 3 } }],
      [{ kind: 'window', key: 'mixed:app', policy: { limit: 4, windowMs: 60_000 } }],
      [
        { kind: 'window', key: 'mixed:app', policy: { limit: 4, windowMs: 60_000 } },
        { kind: 'rate', key: `mixed:t${who}`, policy: { rate: 0.5, burst: 3 } },
      ],
      [
        { kind: 'rate', key: `mixed:t${who}:op`, policy: { rate: 0.5, burst: 2 } },
        { kind: 'rate', key: `mixed:t${who}`, policy: { rate: 0.5, burst: 3 } },
        { kind: 'window', key: 'mixed:app', policy: { limit: 4, windowMs: 60_000 } },
      ],
    ];
    const random = seededRandom(7);
    const next = (n: number) => Math.floor(random() * n);
    let refusals = 0;
    for (let i = 0; i < 30; i++) {
      const shape = next(4);
      const who = next(2);
      const viaRedis = summary(await onRedis.check(shapes(who)[shape]!));
      const viaMemory = summary(inProcess.check(shapes(who)[shape]!));
      expect(viaRedis, `request ${i} (shape ${shape}, tenant ${who})`).toEqual(viaMemory);
      if (viaRedis.some(([, allowed]) => !allowed)) refusals++;
    }
    // Both admissions and refusals were compared.
    expect(refusals).toBeGreaterThan(5);
    expect(refusals).toBeLessThan(30);
  });

  it('reports a refusal with the time to wait', async () => {
    const limiter = limiterOn(client());
    const checks = window('wait', { limit: 1, windowMs: 5_000 });
    await limiter.check(checks);
    const [refused] = await limiter.check(checks);
    expect(refused!.decision.allowed).toBe(false);
    expect(refused!.decision.retryAfterMs).toBeGreaterThan(4_000);
    expect(refused!.decision.retryAfterMs).toBeLessThanOrEqual(5_000);
    expect(await limiter.check([])).toEqual([]);
  });

  it('decides the requests of one event-loop turn in one script run, in arrival order', async () => {
    // A proxy that records the commands the client sends counts the script runs.
    const proxy = await noscriptProxy();
    const redis = clientVia(proxy.port);
    try {
      const limiter = limiterOn(redis);
      await limiter.check(rate('turn:warm', { rate: 1, burst: 1 })); // loads the script
      const runsBefore = proxy.commands.filter((name) => name.startsWith('eval')).length;
      // Ten requests started in one turn: a tenant with a burst of 4, then a QPS guard of 6.
      const turn = Array.from({ length: 10 }, () => limiter.check(checksOf('turn').slice(1).map((check) => (check.kind === 'rate' ? { ...check, policy: { rate: 1, burst: 4 } } : { ...check, policy: { limit: 6, windowMs: 10_000 } }))));
      const outcomes = (await Promise.all(turn)).map(summary);
      expect(proxy.commands.filter((name) => name.startsWith('eval')).length - runsBefore).toBe(1);
      // As if they had come one by one: the first four admitted with 3, 2, 1, 0 left, the rest
      // refused by the tenant's limit, so the guard never counted them.
      expect(outcomes).toEqual([
        [['rate', true, 3], ['window', true, 5]],
        [['rate', true, 2], ['window', true, 4]],
        [['rate', true, 1], ['window', true, 3]],
        [['rate', true, 0], ['window', true, 2]],
        ...Array.from({ length: 6 }, () => [['rate', false, 0]]),
      ]);
      // Four admissions at one Redis time, recorded as four.
      expect(await redisTests.admin.zcard(`${prefixes.window}app:turn:op:add`)).toBe(4);
    } finally {
      redis.disconnect();
      await proxy.close();
    }
  });

  it('leaves a bucket and a log hit several times in one script run as one request at a time would: the last TAT and its TTL, every admission, the expiry', async () => {
    const limiter = limiterOn(client());
    // Five requests in one run, each on one bucket (2/s, burst 10) and one log (limit 3 in 1 s).
    const checks: LimitCheck[] = [
      { kind: 'rate', key: 'run-bucket', policy: { rate: 2, burst: 10 } },
      { kind: 'window', key: 'run-log', policy: { limit: 3, windowMs: 1_000 } },
    ];
    const decided = await Promise.all(Array.from({ length: 5 }, () => limiter.check(checks)));
    const outcomes = decided.map(summary);
    // The oldest admission in the window is this run's own: free again a whole window later.
    expect(decided[3]![1]!.decision.retryAfterMs).toBe(1_000);
    expect(outcomes).toEqual([
      [['rate', true, 9], ['window', true, 2]],
      [['rate', true, 8], ['window', true, 1]],
      [['rate', true, 7], ['window', true, 0]],
      [['rate', true, 6], ['window', false, 0]],
      [['rate', true, 5], ['window', false, 0]],
    ]);
    // Five admissions of 500 ms each: full again in 2.5 s, the key's TTL.
    const bucketTtl = await redisTests.admin.pttl(`${prefixes.rate}run-bucket`);
    expect(bucketTtl).toBeGreaterThan(2_400);
    expect(bucketTtl).toBeLessThanOrEqual(2_500);
    expect(Number(await redisTests.admin.get(`${prefixes.rate}run-bucket`))).toBeGreaterThan(0);
    // The log holds the three admissions and expires when they leave the window.
    expect(await redisTests.admin.zcard(`${prefixes.window}run-log`)).toBe(3);
    const logTtl = await redisTests.admin.pttl(`${prefixes.window}run-log`);
    expect(logTtl).toBeGreaterThan(900);
    expect(logTtl).toBeLessThanOrEqual(1_001);
    // The next run reads what this one left: one more request on the bucket has 4 left.
    expect(summary(await limiter.check(checks.slice(0, 1)))).toEqual([['rate', true, 4]]);
  });

  it('counts a log hit with two window lengths in one script run (a policy changed between requests) as two admissions', async () => {
    const limiter = limiterOn(client());
    const [short, long] = await Promise.all([limiter.check(window('run-change', { limit: 5, windowMs: 1_000 })), limiter.check(window('run-change', { limit: 5, windowMs: 2_000 }))]);
    expect([summary(short), summary(long)]).toEqual([[['window', true, 4]], [['window', true, 3]]]);
    expect(await redisTests.admin.zcard(`${prefixes.window}run-change`)).toBe(2);
  });

  it('sends a turn of more than maxBatch requests in several runs, with the same decisions', async () => {
    const proxy = await noscriptProxy();
    const redis = clientVia(proxy.port);
    try {
      const limiter = limiterOn(redis, { maxBatch: 3 });
      await limiter.check(rate('batch:warm', { rate: 1, burst: 1 }));
      const runsBefore = proxy.commands.filter((name) => name.startsWith('eval')).length;
      const policy = { limit: 5, windowMs: 10_000 };
      const turn = Array.from({ length: 7 }, () => limiter.check(window('batch', policy)));
      const outcomes = (await Promise.all(turn)).map(summary);
      expect(proxy.commands.filter((name) => name.startsWith('eval')).length - runsBefore).toBe(3);
      expect(outcomes).toEqual([4, 3, 2, 1, 0].map((left) => [['window', true, left]]).concat([[['window', false, 0]], [['window', false, 0]]]));
    } finally {
      redis.disconnect();
      await proxy.close();
    }
  });

  it('answers a request with a bad policy alone, before calling Redis: the others of its turn are decided', async () => {
    const limiter = limiterOn(client());
    const good = limiter.check(rate('bad-neighbour', { rate: 1, burst: 2 }));
    const bad = limiter.check(rate('bad', { rate: 0, burst: 2 }));
    const badWindow = limiter.check(window('bad', { limit: 1, windowMs: 0 }));
    const alsoGood = limiter.check(rate('bad-neighbour', { rate: 1, burst: 2 }));
    await expect(bad).rejects.toThrow(RangeError);
    await expect(badWindow).rejects.toThrow(RangeError);
    expect(summary(await good)).toEqual([['rate', true, 1]]);
    expect(summary(await alsoGood)).toEqual([['rate', true, 0]]);
    expect(await redisTests.admin.exists(`${prefixes.rate}bad`, `${prefixes.window}bad`)).toBe(0);
    expect(() => limiterOn(client(), { maxBatch: 0 })).toThrow(RangeError);
  });

  it('shares one defined command between limiters on the same client; prefixes isolate', async () => {
    const redis = client();
    const one = limiterOn(redis, { ratePrefix: `${prefixes.rate}one:` });
    const two = limiterOn(redis, { ratePrefix: `${prefixes.rate}two:` });
    const policy = { rate: 1, burst: 1 };
    expect((await decisionOf(one.check(rate('k', policy)))).allowed).toBe(true);
    expect((await decisionOf(one.check(rate('k', policy)))).allowed).toBe(false);
    expect((await decisionOf(two.check(rate('k', policy)))).allowed).toBe(true);
  });

  it('recovers from NOSCRIPT, counting the request exactly once', async () => {
    // A proxy answers one EVALSHA with Redis's NOSCRIPT error (as after SCRIPT FLUSH, a restart or
    // a failover) instead of flushing the script cache under the other tests.
    const proxy = await noscriptProxy();
    const redis = clientVia(proxy.port);
    try {
      const limiter = limiterOn(redis);
      const policy = { limit: 5, windowMs: 10_000 };
      expect(await decisionOf(limiter.check(window('noscript', policy)))).toMatchObject({ allowed: true, remaining: 4 });
      proxy.failNextEvalsha();
      expect(await decisionOf(limiter.check(window('noscript', policy)))).toMatchObject({ allowed: true, remaining: 3 });
      expect(await decisionOf(limiter.check(window('noscript', policy)))).toMatchObject({ allowed: true, remaining: 2 });
      expect(await log('noscript')).toHaveLength(3);
      // First use on the connection, the refused EVALSHA, its resend, then the script by SHA again.
      expect(proxy.commands.filter((name) => name.startsWith('eval'))).toEqual(['eval', 'evalsha', 'eval', 'evalsha']);
    } finally {
      redis.disconnect();
      await proxy.close();
    }
  });

  it('throws RateLimiterUnavailableError(timeout) when Redis does not answer in time', async () => {
    await withHungRedis(async (hung) => {
      const limiter = new RedisRequestLimiter({ redis: hung, timeoutMs: 50 });
      const started = performance.now();
      // Every request of the turn that waited on the unanswered run is told so.
      const errors = await Promise.all([1, 2, 3].map(() => limiter.check(checksOf('hung')).catch((err: unknown) => err)));
      for (const error of errors) {
        expect(error).toBeInstanceOf(RateLimiterUnavailableError);
        expect(error).toMatchObject({ reason: 'timeout' });
      }
      expect(performance.now() - started).toBeLessThan(500);
    });
  });

  it('throws RateLimiterUnavailableError(error) when the connection is refused', async () => {
    const refused = refusedRedis();
    const limiter = new RedisRequestLimiter({ redis: refused });
    const error = await limiter.check(checksOf('refused')).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RateLimiterUnavailableError);
    expect(error).toMatchObject({ reason: 'error' });
    expect((error as Error).cause).toBeInstanceOf(Error);
    refused.disconnect();
  });

  it('withRequestFallback limits locally while the connection is closed and returns to Redis when it is back', async () => {
    const redis = redisTests.client({ lazyConnect: true });
    await redis.connect();
    const clock = { t: 0, now() { return this.t; } };
    const events: string[] = [];
    const limits = withRequestFallback(limiterOn(redis), {
      clock,
      onTrip: (err) => events.push(`trip:${err.reason}`),
      onRecover: () => events.push('recover'),
    });
    const checks = [...rate('fb', { rate: 1, burst: 2 }), ...window('fb', { limit: 2, windowMs: 10_000 })];
    expect(summary(await limits.check(checks))).toEqual([
      ['rate', true, 1],
      ['window', true, 1],
    ]);

    redis.disconnect(); // later commands fail fast with "Connection is closed."
    // Decided in this process, which has seen nothing yet.
    expect(summary(await limits.check(checks))).toEqual([
      ['rate', true, 1],
      ['window', true, 1],
    ]);
    expect(limits.state).toBe('fallback');

    await redis.connect();
    clock.t = 1000;
    // The probe goes to Redis, where the first request is still counted: one unit of the bucket
    // (refilling at 1/s, so whole again or nearly) and the first admission of the window.
    const [bucket, log] = await limits.check(checks);
    expect(bucket!.decision.allowed).toBe(true);
    expect(log!.decision).toMatchObject({ allowed: true, remaining: 0 });
    expect(limits.state).toBe('primary');
    expect(events).toEqual(['trip:error', 'recover']);
  });

  describe('a companion call (another store\'s call in the same script run)', () => {
    /** Counts on its key by its first argument and answers the count and its second argument. */
    const counter = { name: 'testCounterV2', lua: "local function companion(key, a) return { redis.call('INCRBY', key, a[1]), a[2] } end local function companion_flush() end" };
    const counted = (key: string) => redisTests.admin.get(`dtg:rq:test:${run}:${key}`).then(Number);
    const call = (key: string, by: number) => ({ key: `dtg:rq:test:${run}:${key}`, args: [by, `label-${by}`] });

    it('makes the call after the checks, only when they all admit the request, and answers its reply', async () => {
      const limiter = limiterOn(client(), { companion: counter });
      const checks = rate('companion-admit', { rate: 1, burst: 1 });
      const first = await limiter.checkWith(checks, call('c-admit', 5));
      expect(first.outcomes.map((o) => o.decision.allowed)).toEqual([true]);
      expect(first.companion).toEqual([5, 'label-5']);
      // The bucket is empty: refused, and the call is not made.
      const second = await limiter.checkWith(checks, call('c-admit', 5));
      expect(second.outcomes.map((o) => o.decision.allowed)).toEqual([false]);
      expect(second.companion).toBeUndefined();
      expect(await counted('c-admit')).toBe(5);
      // Without checks, the call alone.
      expect((await limiter.checkWith([], call('c-admit', 2))).companion).toEqual([7, 'label-2']);
    });

    it('answers each request of one script run its own decisions and reply, with and without a call, in arrival order', async () => {
      const limiter = limiterOn(client(), { companion: counter });
      const checks = window('companion-run', { limit: 2, windowMs: 60_000 });
      const [a, b, c, d] = await Promise.all([
        limiter.checkWith(checks, call('c-run', 1)),
        limiter.check(checks),
        limiter.checkWith(checks, call('c-run', 10)),
        limiter.checkWith([], call('c-run', 100)),
      ]);
      expect(a.companion).toEqual([1, 'label-1']);
      expect(b.map((o) => o.decision.allowed)).toEqual([true]);
      expect(c).toEqual({ outcomes: [{ kind: 'window', decision: expect.objectContaining({ allowed: false }) }], companion: undefined });
      expect(d).toEqual({ outcomes: [], companion: [101, 'label-100'] });
      expect(await counted('c-run')).toBe(101);
    });

    it('is refused without a companion in the options; behind the fallback, the fallback decides and no call is made', async () => {
      await expect(limiterOn(client()).checkWith([], call('c-none', 1))).rejects.toThrow(/companion/);
      const redis = client();
      const limits = withRequestFallback(limiterOn(redis, { companion: counter }));
      expect((await limits.checkWith(rate('companion-fallback', { rate: 1, burst: 1 }), call('c-fallback', 1))).companion).toEqual([1, 'label-1']);
      redis.disconnect();
      const decided = await limits.checkWith(rate('companion-fallback', { rate: 1, burst: 1 }), call('c-fallback', 1));
      expect(limits.state).toBe('fallback');
      expect(decided).toEqual({ outcomes: [{ kind: 'rate', decision: expect.objectContaining({ allowed: true }) }], companion: undefined });
      expect(await counted('c-fallback')).toBe(1);
    });
  });

  it('refuses a Redis Cluster client (one script, several keys)', () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    expect(() => new RedisRequestLimiter({ redis: cluster as unknown as Redis })).toThrow(/Cluster/);
    cluster.disconnect();
  });
});
