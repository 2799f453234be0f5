/**
 * The token provider shared by several gateway instances through Redis: the token of a DingTalk
 * app lives in Redis with its times, so every instance uses the same one and **one** instance
 * fetches when it is missing or due, however many instances and requests want it.
 *
 * Per process, in front of Redis: one in-flight read at a time, and a short local cache
 * (`localCacheMs`, 1 s) so that requests don't cost a Redis round trip each.
 *
 * Across processes: a fetch happens under a short lock (`SET lock <fence> NX PX lockTtlMs`);
 * the others poll the shared key until the token appears. The token is stored only if the lock
 * is still held with the same fence, so a fetcher that stalled past its lock never overwrites
 * a newer token. A failed fetch leaves a backoff marker so the other instances fail fast
 * instead of each hammering the token endpoint.
 *
 * Redis slow or down: every call has a deadline (`redisTimeoutMs`); the provider then works alone
 * through `fallback` (an in-memory provider: tokens still flow, fetched per instance), and tries
 * Redis again with one call per `redisRetryMs`, going back to it when that call is answered (the
 * circuit breaker of `@dingtalk-gateway/circuit-breaker`, the one every Redis store of the gateway
 * uses). ISV apps get a new token per fetch, so during such an outage
 * instances may replace each other's tokens; the gateway's one replay on
 * `InvalidAuthentication` absorbs that.
 *
 * ```ts
 * const tokens = createRedisTokenProvider({ redis, key: 'dtg:token:wiki-bot', fetchToken, fallback: createMemoryTokenProvider({ fetchToken }) });
 * ```
 */
import { Circuit, withDeadline } from '@dingtalk-gateway/circuit-breaker';
import type { Redis } from 'ioredis';
import { type BackoffPolicy, DEFAULT_BACKOFF, backoffDelay } from './backoff.js';
import { type TokenFetcher, type TokenLease, type TokenProvider, TokenUnavailableError } from './interface.js';
import { DEFAULT_LIFETIME_POLICY, type LifetimePolicy, type TokenTimes, tokenTimes } from './lifetime.js';
import type { TokenFetchEvent } from './memory.js';
import { fetchCheckedToken } from './checked-fetch.js';

export interface RedisTokenProviderOptions {
  redis: Redis;
  /** The Redis key of this app's token, e.g. `dtg:token:<appId>`; the lock and backoff keys derive from it. */
  key: string;
  fetchToken: TokenFetcher;
  /** Serves while Redis is unreachable. */
  fallback: TokenProvider;
  lifetime?: Partial<LifetimePolicy>;
  backoff?: Partial<BackoffPolicy>;
  /** How long a process trusts the token it read from Redis before reading again. Default 1000 ms. */
  localCacheMs?: number;
  /** How long the fetch lock lives; longer than a token fetch can take. Default 15 000 ms. */
  lockTtlMs?: number;
  /** How often a waiting instance looks for the token another one is fetching. Default 50 ms. */
  pollIntervalMs?: number;
  /** Timeout of every Redis call. Default 250 ms. */
  redisTimeoutMs?: number;
  /** After a Redis failure, how long to use the fallback before trying Redis again (one call, then one per interval until it answers). Default 1000 ms. */
  redisRetryMs?: number;
  now?: () => number;
  random?: () => number;
  onFetch?: (event: TokenFetchEvent) => void;
  /** Redis failed (`error`) and the fallback serves, or Redis answers again (`recovered`). */
  onRedisState?: (state: 'error' | 'recovered', error?: unknown) => void;
}

interface StoredToken extends TokenTimes {
  token: string;
}

class RedisUnavailable extends Error {
  override readonly name = 'RedisUnavailable';
}

// Store only while holding the lock with our fence; drop the lock in the same step.
const STORE_IF_FENCED = `
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  redis.call('DEL', KEYS[2])
  return 1
end
return 0`;
const RELEASE_IF_FENCED = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
// Forget the stored token only if it is the one DingTalk refused.
const DELETE_IF_TOKEN = `
local stored = redis.call('GET', KEYS[1])
if stored and cjson.decode(stored).token == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export function createRedisTokenProvider(options: RedisTokenProviderOptions): TokenProvider {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const lifetime = { ...DEFAULT_LIFETIME_POLICY, ...options.lifetime };
  const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  const localCacheMs = options.localCacheMs ?? 1_000;
  const lockTtlMs = options.lockTtlMs ?? 15_000;
  const pollIntervalMs = options.pollIntervalMs ?? 50;
  const redisTimeoutMs = options.redisTimeoutMs ?? 250;
  const redisRetryMs = options.redisRetryMs ?? 1_000;
  const { redis, key } = options;
  const lockKey = `${key}:lock`;
  const backoffKey = `${key}:backoff`;

  let local: (StoredToken & { readUntil: number }) | undefined;
  let inFlight: Promise<StoredToken> | undefined;
  let refreshing = false;
  let failures = 0;
  const circuit = new Circuit({
    outage: RedisUnavailable,
    probeIntervalMs: redisRetryMs,
    clock: { now },
    onTrip: (error) => options.onRedisState?.('error', error),
    onRecover: () => options.onRedisState?.('recovered'),
  });

  /** One Redis call with its deadline; any failure is `RedisUnavailable`. */
  async function call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await withDeadline(command(), redisTimeoutMs, () => new RedisUnavailable(`Redis did not answer within ${redisTimeoutMs} ms`));
    } catch (error) {
      throw error instanceof RedisUnavailable ? error : new RedisUnavailable(`Redis call failed: ${(error as Error).message}`, { cause: error });
    }
  }

  const read = async (): Promise<StoredToken | undefined> => {
    const raw = await call(() => redis.get(key));
    return raw ? (JSON.parse(raw) as StoredToken) : undefined;
  };

  function remember(stored: StoredToken): StoredToken {
    local = { ...stored, readUntil: now() + localCacheMs };
    return stored;
  }

  /** Fetches from DingTalk under the lock; resolves `undefined` if another instance holds it. */
  async function fetchUnderLock(background: boolean): Promise<StoredToken | undefined> {
    const fence = `${process.pid}:${now()}:${random().toString(36).slice(2)}`;
    if ((await call(() => redis.set(lockKey, fence, 'PX', lockTtlMs, 'NX'))) !== 'OK') return undefined;
    // Between our read and our lock another instance may have stored a fresh token and released
    // the lock: look again before calling DingTalk.
    const current = await read();
    if (current && now() < current.refreshAt) {
      await call(() => redis.eval(RELEASE_IF_FENCED, 1, lockKey, fence));
      return current;
    }
    const startedAt = now();
    let fetched;
    try {
      fetched = await fetchCheckedToken(options.fetchToken);
    } catch (error) {
      failures += 1;
      const delay = Math.ceil(backoffDelay(failures, backoff, random));
      options.onFetch?.({ ok: false, durationMs: now() - startedAt, background, error });
      await call(() => redis.multi().set(backoffKey, describe(error), 'PX', delay).eval(RELEASE_IF_FENCED, 1, lockKey, fence).exec()).catch(() => {});
      throw error;
    }
    failures = 0;
    options.onFetch?.({ ok: true, durationMs: now() - startedAt, background });
    const stored: StoredToken = { token: fetched.accessToken, ...tokenTimes(startedAt, fetched.expireIn, lifetime) };
    const ttl = Math.max(1, Math.floor(stored.expiresAt - now()));
    await call(() => redis.eval(STORE_IF_FENCED, 2, key, lockKey, fence, JSON.stringify(stored), ttl)).catch(() => {});
    return stored;
  }

  /** A valid token from Redis, or fetched by this instance or another one. */
  async function resolve(): Promise<StoredToken> {
    const deadline = now() + lockTtlMs + 1_000;
    for (;;) {
      const stored = await read();
      if (stored && now() < stored.expiresAt) return remember(stored);
      const waitMs = await call(() => redis.pttl(backoffKey));
      if (waitMs > 0) {
        const reason = await call(() => redis.get(backoffKey));
        throw new TokenUnavailableError(new Error(reason ?? 'the token endpoint is failing'), now() + waitMs);
      }
      let fetched: StoredToken | undefined;
      try {
        fetched = await fetchUnderLock(false);
      } catch (error) {
        if (error instanceof RedisUnavailable) throw error;
        throw new TokenUnavailableError(error, now() + backoff.initialDelayMs);
      }
      if (fetched) return remember(fetched);
      if (now() > deadline) throw new TokenUnavailableError(new Error('timed out waiting for another instance to fetch the token'), now());
      await new Promise((r) => setTimeout(r, pollIntervalMs));
    }
  }

  function refreshInBackground(): void {
    if (refreshing) return;
    refreshing = true;
    fetchUnderLock(true)
      .then((stored) => stored && remember(stored))
      .catch(() => {}) // the valid token keeps being served; the backoff marker spaces the retries
      .finally(() => (refreshing = false));
  }

  return {
    async getToken(): Promise<TokenLease> {
      const t = now();
      if (local && t < local.readUntil && t < local.expiresAt) {
        if (t >= local.refreshAt) refreshInBackground();
        return { token: local.token, fromCache: true };
      }
      return circuit.call(
        async () => {
          inFlight ??= resolve().finally(() => (inFlight = undefined));
          const stored = await inFlight;
          if (now() >= stored.refreshAt) refreshInBackground();
          return { token: stored.token, fromCache: false };
        },
        () => options.fallback.getToken(),
      );
    },

    async invalidate(token: string): Promise<void> {
      if (local?.token === token) local = undefined;
      await options.fallback.invalidate(token);
      await circuit.call(
        async () => {
          await call(() => redis.eval(DELETE_IF_TOKEN, 1, key, token));
        },
        async () => {},
      );
    },
  };
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}
