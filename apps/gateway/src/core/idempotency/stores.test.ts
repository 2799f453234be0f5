/**
 * The Idempotency-Key stores (memory and Redis) against one behaviour; the whole request path is
 * in apps/harness/src/features/idempotency.test.ts.
 */
import { checkRedis, redisForTests } from '@dingtalk-gateway/test-support';
import { describe, expect, it } from 'vitest';
import type { IdempotencyStore } from './interface.js';
import { MemoryIdempotencyStore } from './memory.js';
import { RedisIdempotencyStore } from './redis.js';

const unreachable = await checkRedis();

function behavesAsAnIdempotencyStore(make: () => IdempotencyStore) {
  it('begins a key once, keeps what became of it, forgets an abandoned one', async () => {
    const store = make();
    expect(await store.begin('t|k', 'f1', 1_000, 60_000)).toBeUndefined();
    expect(await store.begin('t|k', 'f2', 2_000, 60_000)).toEqual({ state: 'inFlight', fingerprint: 'f1', startedAt: 1_000 });
    const body = new Uint8Array([0x7b, 0x00, 0xff, 0x7d]);
    await store.finish('t|k', { state: 'done', fingerprint: 'f1', answer: { status: 201, headers: [['content-type', 'application/json']], body } }, 60_000);
    expect(await store.begin('t|k', 'f1', 3_000, 60_000)).toEqual({ state: 'done', fingerprint: 'f1', answer: { status: 201, headers: [['content-type', 'application/json']], body } });
    expect(await store.begin('t|u', 'f', 1_000, 60_000)).toBeUndefined();
    await store.finish('t|u', { state: 'unknown', fingerprint: 'f', why: 'a timeout' }, 60_000);
    expect(await store.begin('t|u', 'f', 1_000, 60_000)).toEqual({ state: 'unknown', fingerprint: 'f', why: 'a timeout' });
    expect(await store.begin('t|a', 'f', 1_000, 60_000)).toBeUndefined();
    await store.abandon('t|a');
    expect(await store.begin('t|a', 'f', 1_000, 60_000)).toBeUndefined();
  });
}

describe('MemoryIdempotencyStore', () => {
  behavesAsAnIdempotencyStore(() => new MemoryIdempotencyStore({ maxEntries: 100, maxBytes: 1 << 20 }));
});

describe.skipIf(unreachable)('RedisIdempotencyStore', () => {
  const redis = redisForTests('dtg-test:idem:');
  let n = 0;
  behavesAsAnIdempotencyStore(() => new RedisIdempotencyStore({ redis: redis.admin, prefix: `dtg-test:idem:${process.pid}:${++n}:`, timeoutMs: 1_000 }));

  it('lets exactly one of many instances begin a key received by all at once', async () => {
    const prefix = `dtg-test:idem:${process.pid}:race:`;
    const stores = Array.from({ length: 4 }, () => new RedisIdempotencyStore({ redis: redis.client(), prefix, timeoutMs: 2_000 }));
    const begun = await Promise.all(stores.flatMap((store) => Array.from({ length: 10 }, () => store.begin('t|same', 'f', 1_000, 60_000))));
    expect(begun.filter((record) => record === undefined)).toHaveLength(1);
  });
});
