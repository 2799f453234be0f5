/**
 * The Redis token provider against the real Redis: several providers on one key stand for
 * several gateway instances.
 */
import { REDIS_URL, checkRedis, deleteKeys, refusedRedis } from '@dingtalk-gateway/test-support';
import { Redis, type RedisKey } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { FetchedToken, TokenProvider } from './interface.js';
import { createMemoryTokenProvider } from './memory.js';
import { type RedisTokenProviderOptions, createRedisTokenProvider } from './redis.js';

const unreachable = await checkRedis();
const prefix = `dtg:test:token:${process.pid}:${Date.now()}:`;
const clients: Redis[] = [];
const client = () => {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  clients.push(redis);
  return redis;
};

afterEach(async () => {
  if (!unreachable) await deleteKeys(clients[0] ?? client(), prefix);
});
afterAll(async () => {
  for (const redis of clients) redis.disconnect();
});

/** A DingTalk token endpoint that counts calls and issues token-1, token-2, ... */
function tokenEndpoint(options: { delayMs?: number; expireIn?: number; fail?: () => boolean } = {}) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    fetchToken: async (): Promise<FetchedToken> => {
      calls += 1;
      const n = calls;
      await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 20));
      if (options.fail?.()) throw Object.assign(new Error('token endpoint down'), { code: 'system.busy' });
      return { accessToken: `token-${n}`, expireIn: options.expireIn ?? 7200 };
    },
  };
}

let keyCounter = 0;
/** `count` providers sharing one Redis key, each with its own client: separate "instances". */
function instances(count: number, endpoint: ReturnType<typeof tokenEndpoint>, overrides: Partial<RedisTokenProviderOptions> = {}): TokenProvider[] {
  const key = `${prefix}${++keyCounter}`;
  return Array.from({ length: count }, () =>
    createRedisTokenProvider({
      redis: client(),
      key,
      fetchToken: endpoint.fetchToken,
      fallback: createMemoryTokenProvider({ fetchToken: endpoint.fetchToken }),
      pollIntervalMs: 10,
      ...overrides,
    }),
  );
}

describe.skipIf(unreachable)('createRedisTokenProvider (real Redis)', () => {
  it('fetches exactly once for hundreds of concurrent cold requests across instances', async () => {
    const endpoint = tokenEndpoint({ delayMs: 50 });
    const providers = instances(4, endpoint);
    const leases = await Promise.all(Array.from({ length: 400 }, (_, i) => providers[i % 4]!.getToken()));
    expect(endpoint.calls).toBe(1);
    expect(new Set(leases.map((l) => l.token))).toEqual(new Set(['token-1']));
  });

  it('serves from the local cache without a Redis round trip', async () => {
    const endpoint = tokenEndpoint();
    const redis = client();
    const provider = createRedisTokenProvider({ redis, key: `${prefix}local`, fetchToken: endpoint.fetchToken, fallback: createMemoryTokenProvider({ fetchToken: endpoint.fetchToken }) });
    await provider.getToken();
    const get = vi.spyOn(redis, 'get');
    const leases = await Promise.all(Array.from({ length: 100 }, () => provider.getToken()));
    expect(leases.every((l) => l.fromCache && l.token === 'token-1')).toBe(true);
    expect(get).not.toHaveBeenCalled();
  });

  it('makes an invalidation visible to every instance, with one refetch in total', async () => {
    const endpoint = tokenEndpoint();
    const [a, b, c] = instances(3, endpoint, { localCacheMs: 60_000 });
    const first = (await a!.getToken()).token;
    expect((await b!.getToken()).token).toBe(first);
    expect((await c!.getToken()).token).toBe(first);
    // DingTalk refused the token: every instance reports it (as its requests fail), each once.
    await Promise.all([a!.invalidate(first), b!.invalidate(first), c!.invalidate(first)]);
    const fresh = await Promise.all([a!.getToken(), b!.getToken(), c!.getToken()]);
    expect(new Set(fresh.map((l) => l.token))).toEqual(new Set(['token-2']));
    expect(endpoint.calls).toBe(2);
    // A late report about the old token does not drop the new one.
    await b!.invalidate(first);
    expect((await c!.getToken()).token).toBe('token-2');
    expect(endpoint.calls).toBe(2);
  });

  it('refreshes ahead of expiry once across instances, serving the valid token meanwhile', async () => {
    let clock = Date.now();
    const endpoint = tokenEndpoint({ expireIn: 60 });
    const providers = instances(3, endpoint, { now: () => clock, localCacheMs: 0 });
    await providers[0]!.getToken();
    clock += 31_000; // past half of 60 s: due for refresh, still valid
    const leases = await Promise.all(providers.flatMap((p) => [p.getToken(), p.getToken()]));
    expect(leases.every((l) => l.token === 'token-1')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(endpoint.calls).toBe(2);
    expect((await providers[2]!.getToken()).token).toBe('token-2');
  });

  it('fails fast on every instance while the token endpoint is failing, then recovers', async () => {
    let down = true;
    const endpoint = tokenEndpoint({ fail: () => down });
    const providers = instances(3, endpoint);
    await expect(providers[0]!.getToken()).rejects.toThrow(/token endpoint down/);
    const others = await Promise.allSettled([providers[1]!.getToken(), providers[2]!.getToken()]);
    expect(others.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(endpoint.calls).toBe(1); // the backoff marker stopped the other instances
    down = false;
    await new Promise((resolve) => setTimeout(resolve, 300)); // past the first backoff (<= 250 ms)
    expect((await providers[1]!.getToken()).token).toBe('token-2');
  });

  it('does not fetch again when another instance stored a token between its read and its lock', async () => {
    const endpoint = tokenEndpoint();
    const redis = client();
    const key = `${prefix}race`;
    const provider = createRedisTokenProvider({ redis, key, fetchToken: endpoint.fetchToken, fallback: createMemoryTokenProvider({ fetchToken: endpoint.fetchToken }) });
    // The other instance stores its token right after this one's first read.
    const realGet = redis.get.bind(redis);
    let reads = 0;
    vi.spyOn(redis, 'get').mockImplementation(async (k: RedisKey) => {
      const value = await realGet(k);
      if (k === key && ++reads === 1) {
        await clients[0]!.set(key, JSON.stringify({ token: 'from-another-instance', refreshAt: Date.now() + 60_000, expiresAt: Date.now() + 120_000 }), 'PX', 120_000);
      }
      return value;
    });
    expect((await provider.getToken()).token).toBe('from-another-instance');
    expect(endpoint.calls).toBe(0);
    expect(await clients[0]!.exists(`${key}:lock`)).toBe(0);
  });

  it('takes over when the instance holding the lock died', async () => {
    const endpoint = tokenEndpoint();
    const [provider] = instances(1, endpoint, { lockTtlMs: 200 });
    const key = `${prefix}${keyCounter}`;
    await clients[0]!.set(`${key}:lock`, 'a-dead-instance', 'PX', 200);
    const started = Date.now();
    expect((await provider!.getToken()).token).toBe('token-1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('never overwrites a newer token after losing its lock', async () => {
    const endpoint = tokenEndpoint({ delayMs: 150 });
    const [slow] = instances(1, endpoint, { lockTtlMs: 50 });
    const key = `${prefix}${keyCounter}`;
    const pending = slow!.getToken();
    await new Promise((resolve) => setTimeout(resolve, 80)); // the lock expired meanwhile
    await clients[0]!.set(key, JSON.stringify({ token: 'newer', refreshAt: Date.now() + 60_000, expiresAt: Date.now() + 120_000 }), 'PX', 120_000);
    await pending;
    expect(JSON.parse((await clients[0]!.get(key))!).token).toBe('newer');
  });

  it('falls back to the local provider while Redis is down, and reports it', async () => {
    const endpoint = tokenEndpoint();
    const states: string[] = [];
    const dead = refusedRedis();
    clients.push(dead);
    const provider = createRedisTokenProvider({
      redis: dead,
      key: `${prefix}dead`,
      fetchToken: endpoint.fetchToken,
      fallback: createMemoryTokenProvider({ fetchToken: endpoint.fetchToken }),
      redisTimeoutMs: 100,
      onRedisState: (state) => states.push(state),
    });
    expect((await provider.getToken()).token).toBe('token-1');
    expect((await provider.getToken()).token).toBe('token-1');
    expect(states).toEqual(['error']);
    expect(endpoint.calls).toBe(1);
  });

  it('tries Redis again with one call per redisRetryMs while it is down, and goes back to it when it answers', async () => {
    const endpoint = tokenEndpoint();
    const states: string[] = [];
    let clock = Date.now();
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true, enableOfflineQueue: false });
    clients.push(redis);
    await redis.connect();
    const get = vi.spyOn(redis, 'get');
    const provider = createRedisTokenProvider({
      redis,
      key: `${prefix}retry`,
      fetchToken: endpoint.fetchToken,
      fallback: createMemoryTokenProvider({ fetchToken: endpoint.fetchToken }),
      localCacheMs: 0,
      redisRetryMs: 1_000,
      now: () => clock,
      onRedisState: (state) => states.push(state),
    });
    expect((await provider.getToken()).token).toBe('token-1'); // fetched into Redis
    redis.disconnect();
    expect((await provider.getToken()).token).toBe('token-2'); // Redis down: the fallback fetches its own
    expect(states).toEqual(['error']);
    const readsWhileDown = get.mock.calls.length;
    for (let i = 0; i < 10; i++) expect((await provider.getToken()).token).toBe('token-2');
    expect(get.mock.calls.length).toBe(readsWhileDown); // Redis not asked before the retry is due

    await redis.connect();
    clock += 1_000;
    expect((await provider.getToken()).token).toBe('token-1'); // the shared token again
    expect(states).toEqual(['error', 'recovered']);
    expect(endpoint.calls).toBe(2);
  });
});
