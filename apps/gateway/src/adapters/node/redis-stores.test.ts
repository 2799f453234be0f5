/**
 * What the Redis stores' rate limits do while Redis cannot be reached, per `redis.whenDown`, as
 * the README's table says. No Redis is needed: the client points at a closed port.
 */
import { Writable } from 'node:stream';
import { type LimitCheck, RateLimiterUnavailableError } from '@dingtalk-gateway/rate-limiter';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../../config/schema.js';
import { createPrometheusMetrics } from './prometheus-metrics.js';
import { type RedisStores, createRedisStores } from './redis-stores.js';

const checks: LimitCheck[] = [
  { kind: 'rate', key: 'tenant:t', policy: { rate: 1, burst: 1 } },
  { kind: 'window', key: 'app:a:op:o', policy: { limit: 20, windowMs: 1_050 } },
];

let opened: RedisStores | undefined;
afterEach(async () => {
  await opened?.close();
  opened = undefined;
});

function storesWhenDown(whenDown: 'local' | 'open' | 'closed'): RedisStores {
  const config: NonNullable<GatewayConfig['redis']> = { url: 'redis://127.0.0.1:1', keyPrefix: 'dtg:test:down:', timeoutMs: 50, tokenTimeoutMs: 50, whenDown };
  const logger = pino({ level: 'silent' }, new Writable({ write: (_chunk, _encoding, done) => done() }));
  opened = createRedisStores(config, {}, logger, createPrometheusMetrics());
  return opened;
}

describe('the Redis stores while Redis is down', () => {
  it('local: limits in this process (the second request over the burst is refused)', async () => {
    const { requestLimiter } = storesWhenDown('local');
    expect((await requestLimiter.check(checks)).map((o) => o.decision.allowed)).toEqual([true, true]);
    expect((await requestLimiter.check(checks)).map((o) => o.decision.allowed)).toEqual([false]);
  });

  it('open: admits everything', async () => {
    const { requestLimiter } = storesWhenDown('open');
    for (let i = 0; i < 3; i++) expect((await requestLimiter.check(checks)).every((o) => o.decision.allowed)).toBe(true);
  });

  it('closed: the limiter is unavailable (the gateway answers 503 gateway.unavailable), not a rate refusal', async () => {
    const { requestLimiter } = storesWhenDown('closed');
    for (let i = 0; i < 2; i++) await expect(requestLimiter.check(checks)).rejects.toBeInstanceOf(RateLimiterUnavailableError);
  });
});
