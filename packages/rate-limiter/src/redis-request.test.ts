/**
 * Runs against a real Redis at REDIS_URL (default redis://127.0.0.1:6379). Unreachable Redis
 * skips these tests locally, and fails them when CI=true.
 */
import { checkRedis, clientVia, noscriptProxy, redisForTests, seededRandom, withHungRedis } from '@dingtalk-gateway/test-support';
import { Cluster, type Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RateLimiterUnavailableError } from './interface.js';
import { RedisRateLimiter } from './redis.js';
import { RedisRequestLimiter } from './redis-request.js';
import { RedisWindowLimiter } from './redis-window.js';
import { type LimitCheck, type LimitOutcome, SequentialRequestLimiter } from './request-limits.js';

const unreachable = await checkRedis();

/** A request's checks as the gateway makes them: an operation limit, the tenant's, DingTalk's QPS guard. */
const checksOf = (id: string): LimitCheck[] => [
  { kind: 'rate', key: `tenant:${id}:op:add`, policy: { rate: 1, burst: 4 } },
  { kind: 'rate', key: `tenant:${id}`, policy: { rate: 1, burst: 3 } },
  { kind: 'window', key: `app:${id}:op:add`, policy: { limit: 2, windowMs: 10_000 } },
];

/** What a test can compare exactly: which limit decided what, and what was left. */
const summary = (outcomes: LimitOutcome[]) => outcomes.map((o) => [o.kind, o.decision.allowed, o.decision.remaining]);

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
  const timeoutMs = 2000;
  const redisTests = redisForTests(`dtg:rq:test:${run}:`);
  const client = () => redisTests.client();



  it('decides in one round trip exactly what the one-limit limiters decide when asked in turn', async () => {
    const combined = new RedisRequestLimiter({ redis: client(), ratePrefix: prefixes.rate, windowPrefix: prefixes.window, timeoutMs });
    const oneByOne = new SequentialRequestLimiter(
      new RedisRateLimiter({ redis: client(), prefix: prefixes.rate, timeoutMs }),
      new RedisWindowLimiter({ redis: client(), prefix: prefixes.window, timeoutMs }),
    );
    const viaScript: unknown[] = [];
    const viaLimiters: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      viaScript.push(summary(await combined.check(checksOf('script'))));
      viaLimiters.push(summary(await oneByOne.check(checksOf('limiters'))));
    }
    expect(viaScript).toEqual(viaLimiters);
    // The QPS guard (2 per window) refuses the 3rd request; the operation and tenant limits had
    // counted it already. The 4th: the tenant's burst of 3 is spent, so the guard is not asked.
    expect(viaScript).toEqual([
      [['rate', true, 3], ['rate', true, 2], ['window', true, 1]],
      [['rate', true, 2], ['rate', true, 1], ['window', true, 0]],
      [['rate', true, 1], ['rate', true, 0], ['window', false, 0]],
      [['rate', true, 0], ['rate', false, 0]],
      [['rate', false, 0]],
    ]);
  });

  it('agrees with the one-limit limiters on mixed requests: any order of checks, several keys', async () => {
    const combined = new RedisRequestLimiter({ redis: client(), ratePrefix: prefixes.rate, windowPrefix: prefixes.window, timeoutMs });
    const oneByOne = new SequentialRequestLimiter(
      new RedisRateLimiter({ redis: client(), prefix: prefixes.rate, timeoutMs }),
      new RedisWindowLimiter({ redis: client(), prefix: prefixes.window, timeoutMs }),
    );
    // Slow rates and long windows: the few ms between the two sides' calls change no decision.
    const shapes = (side: string, who: number): LimitCheck[][] => [
      [{ kind: 'rate', key: `${side}:t${who}`, policy: { rate: 0.5, burst: 3 } }],
      [{ kind: 'window', key: `${side}:app`, policy: { limit: 4, windowMs: 60_000 } }],
      [
        { kind: 'window', key: `${side}:app`, policy: { limit: 4, windowMs: 60_000 } },
        { kind: 'rate', key: `${side}:t${who}`, policy: { rate: 0.5, burst: 3 } },
      ],
      [
        { kind: 'rate', key: `${side}:t${who}:op`, policy: { rate: 0.5, burst: 2 } },
        { kind: 'rate', key: `${side}:t${who}`, policy: { rate: 0.5, burst: 3 } },
        { kind: 'window', key: `${side}:app`, policy: { limit: 4, windowMs: 60_000 } },
      ],
    ];
    const random = seededRandom(7);
    const next = (n: number) => Math.floor(random() * n);
    const refusals = { script: 0 };
    for (let i = 0; i < 30; i++) {
      const shape = next(4);
      const who = next(2);
      const viaScript = summary(await combined.check(shapes('mixed-script', who)[shape]!));
      const viaLimiters = summary(await oneByOne.check(shapes('mixed-limiters', who)[shape]!));
      expect(viaScript, `request ${i} (shape ${shape}, tenant ${who})`).toEqual(viaLimiters);
      if (viaScript.some(([, allowed]) => !allowed)) refusals.script++;
    }
    // Both admissions and refusals were compared.
    expect(refusals.script).toBeGreaterThan(5);
    expect(refusals.script).toBeLessThan(30);
  });

  it('shares its budgets with the one-limit limiters (same keys)', async () => {
    const combined = new RedisRequestLimiter({ redis: client(), ratePrefix: prefixes.rate, windowPrefix: prefixes.window, timeoutMs });
    const rates = new RedisRateLimiter({ redis: client(), prefix: prefixes.rate, timeoutMs });
    const windows = new RedisWindowLimiter({ redis: client(), prefix: prefixes.window, timeoutMs });
    await combined.check(checksOf('shared'));
    expect((await rates.limit('tenant:shared', { rate: 1, burst: 3 })).remaining).toBe(1);
    expect((await windows.hit('app:shared:op:add', { limit: 2, windowMs: 10_000 })).remaining).toBe(0);
  });

  it('reports a refusal with the time to wait, as the one-limit limiters do', async () => {
    const combined = new RedisRequestLimiter({ redis: client(), ratePrefix: prefixes.rate, windowPrefix: prefixes.window, timeoutMs });
    const checks: LimitCheck[] = [{ kind: 'window', key: 'wait', policy: { limit: 1, windowMs: 5_000 } }];
    await combined.check(checks);
    const [refused] = await combined.check(checks);
    expect(refused!.decision.allowed).toBe(false);
    expect(refused!.decision.retryAfterMs).toBeGreaterThan(4_000);
    expect(refused!.decision.retryAfterMs).toBeLessThanOrEqual(5_000);
    expect(await combined.check([])).toEqual([]);
  });

  it('decides the requests of one event-loop turn in one script run, in arrival order', async () => {
    // A proxy that records the commands the client sends counts the script runs.
    const proxy = await noscriptProxy();
    const redis = clientVia(proxy.port);
    try {
      const limiter = new RedisRequestLimiter({ redis, ratePrefix: prefixes.rate, windowPrefix: prefixes.window, timeoutMs });
      await limiter.check([{ kind: 'rate', key: 'turn:warm', policy: { rate: 1, burst: 1 } }]); // loads the script
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

  it('sends a turn of more than maxBatch requests in several runs, with the same decisions', async () => {
    const proxy = await noscriptProxy();
    const redis = clientVia(proxy.port);
    try {
      const limiter = new RedisRequestLimiter({ redis, ratePrefix: prefixes.rate, windowPrefix: prefixes.window, timeoutMs, maxBatch: 3 });
      await limiter.check([{ kind: 'rate', key: 'batch:warm', policy: { rate: 1, burst: 1 } }]);
      const runsBefore = proxy.commands.filter((name) => name.startsWith('eval')).length;
      const policy = { limit: 5, windowMs: 10_000 };
      const turn = Array.from({ length: 7 }, () => limiter.check([{ kind: 'window', key: 'batch', policy }]));
      const outcomes = (await Promise.all(turn)).map(summary);
      expect(proxy.commands.filter((name) => name.startsWith('eval')).length - runsBefore).toBe(3);
      expect(outcomes).toEqual([4, 3, 2, 1, 0].map((left) => [['window', true, left]]).concat([[['window', false, 0]], [['window', false, 0]]]));
    } finally {
      redis.disconnect();
      await proxy.close();
    }
  });

  it('answers a request with a bad policy alone: the others of its turn are decided', async () => {
    const limiter = new RedisRequestLimiter({ redis: client(), ratePrefix: prefixes.rate, windowPrefix: prefixes.window, timeoutMs });
    const good = limiter.check([{ kind: 'rate', key: 'bad-neighbour', policy: { rate: 1, burst: 2 } }]);
    const bad = limiter.check([{ kind: 'rate', key: 'bad', policy: { rate: 0, burst: 2 } }]);
    const alsoGood = limiter.check([{ kind: 'rate', key: 'bad-neighbour', policy: { rate: 1, burst: 2 } }]);
    await expect(bad).rejects.toThrow(RangeError);
    expect(summary(await good)).toEqual([['rate', true, 1]]);
    expect(summary(await alsoGood)).toEqual([['rate', true, 0]]);
    expect(() => new RedisRequestLimiter({ redis: client(), maxBatch: 0 })).toThrow(RangeError);
  });

  it('throws RateLimiterUnavailableError(timeout) when Redis does not answer in time', async () => {
    await withHungRedis(async (hung) => {
      const limiter = new RedisRequestLimiter({ redis: hung, timeoutMs: 50 });
      // Every request of the turn that waited on the unanswered run is told so.
      const errors = await Promise.all([1, 2, 3].map(() => limiter.check(checksOf('hung')).catch((err: unknown) => err)));
      for (const error of errors) {
        expect(error).toBeInstanceOf(RateLimiterUnavailableError);
        expect(error).toMatchObject({ reason: 'timeout' });
      }
    });
  });

  it('refuses a Redis Cluster client (one script, several keys)', () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    expect(() => new RedisRequestLimiter({ redis: cluster })).toThrow(/Cluster/);
    cluster.disconnect();
  });
});
