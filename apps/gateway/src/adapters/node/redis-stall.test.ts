/**
 * Found by the soak: a busy event loop must not be taken for a Redis outage. Each Redis call of
 * the shared stores races Redis' reply against a timer (`withDeadline` of
 * `@dingtalk-gateway/circuit-breaker`, which every store uses). When the gateway's own event loop
 * stalls past the timeout (a GC pause, a burst of work, a busy machine), Node runs expired timers
 * before it reads sockets: a bare timer would win although Redis' reply is already in the socket
 * buffer, and the store would trip to its fallback ("Redis unavailable" logged, `dtg_redis_up` 0,
 * limits per instance) with Redis healthy. The soak's 240 s run saw 82 such trips on two
 * instances, every one "Redis did not answer within 50 ms", each after a stall of 250–440 ms.
 * `withDeadline` rejects one turn later, after pending I/O has been read.
 *
 * Each trial here sends one call (command written and timer armed synchronously), then blocks
 * the event loop for three timeouts; Redis answers within a millisecond meanwhile. The right
 * behaviour: the reply is used and the store stays on Redis. A genuinely slow Redis must still
 * time out (the suite's redis tests and scale-out tests cover that).
 */
import { Writable } from 'node:stream';
import type { LimitCheck } from '@dingtalk-gateway/rate-limiter';
import { REDIS_URL, checkRedis } from '@dingtalk-gateway/test-support';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../../config/schema.js';
import { type RedisStores, createRedisStores } from './redis-stores.js';
import { createPrometheusMetrics } from './prometheus-metrics.js';

const unreachable = await checkRedis();
const TIMEOUT_MS = 50;
const TRIALS = 5;
const policy = { rate: 1000, burst: 1000 };

/** Blocks the event loop, as a long GC pause or a burst of synchronous work does. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}

/** Each trial starts from the same point of the event loop (after I/O, before the next timers). */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

let opened: RedisStores | undefined;
afterEach(async () => {
  await opened?.close();
  opened = undefined;
});

function setup() {
  let output = '';
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _e, done) => ((output += String(chunk)), done()) }));
  const metrics = createPrometheusMetrics();
  const config: NonNullable<GatewayConfig['redis']> = {
    url: REDIS_URL,
    keyPrefix: `dtg:test:stall:${process.pid}:${Date.now()}:`,
    timeoutMs: TIMEOUT_MS,
    tokenTimeoutMs: TIMEOUT_MS,
    whenDown: 'local',
  };
  opened = createRedisStores(config, {}, logger, metrics);
  const fallbacks = async (store: string) => (await metrics.redisFallbacks.get()).values.find((v) => v.labels.store === store)?.value ?? 0;
  return { stores: opened, fallbacks, warnings: () => output.split('\n').filter((line) => line.includes('"level":40')) };
}

describe.skipIf(unreachable)('a stalled event loop is not a Redis outage', () => {
  it("rate limits (the tenant's and DingTalk's QPS guard, one script): a reply that arrived during the stall is used; the store stays on Redis", async () => {
    const { stores, fallbacks, warnings } = setup();
    expect(await stores.connected(3_000)).toBe(true);
    const checks: LimitCheck[] = [
      { kind: 'rate', key: 'tenant', policy },
      { kind: 'window', key: 'app:operation', policy: { limit: 1000, windowMs: 1000 } },
    ];
    await stores.requestLimiter.check(checks); // loads the script
    for (let i = 0; i < TRIALS; i++) {
      await nextTurn();
      const decisions = stores.requestLimiter.check(checks);
      stall(3 * TIMEOUT_MS);
      expect((await decisions).map((o) => o.decision.allowed)).toEqual([true, true]);
    }
    expect(warnings(), 'no "Redis unavailable" while Redis answered in time').toEqual([]);
    expect(await fallbacks('rateLimits')).toBe(0);
  });

  it('tokens: a Redis read answered during the stall is used; no local fallback', async () => {
    const { stores, fallbacks, warnings } = setup();
    expect(await stores.connected(3_000)).toBe(true);
    let fetches = 0;
    const fetchToken = async () => ({ accessToken: `token-${(fetches += 1)}`, expireIn: 7200 });
    // A provider per trial: its first getToken reads Redis.
    for (let i = 0; i < TRIALS; i++) {
      const provider = stores.tokenProviders(`app${i}`, fetchToken, () => {});
      await nextTurn();
      const lease = provider.getToken();
      stall(3 * TIMEOUT_MS);
      expect((await lease).token).toMatch(/^token-/);
    }
    expect(warnings()).toEqual([]);
    expect(await fallbacks('tokens')).toBe(0);
  });
});
