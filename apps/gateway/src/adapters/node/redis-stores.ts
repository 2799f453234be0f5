/**
 * The shared stores of a scaled-out gateway: tenants' rate limits, DingTalk's QPS guard, the
 * DingTalk tokens and the monthly call ledger, all in one Redis, each behind the configured
 * policy for Redis being slow or down, with a log line and a metric when it trips and when it
 * recovers.
 */
import type { QuotaLedger } from '@dingtalk-gateway/call-quota';
import { type FallbackQuotaLedger, LEDGER_COMPANION, RedisQuotaLedger, withLedgerFallback } from '@dingtalk-gateway/call-quota/redis';
import { type FallbackMode, type FallbackRequestLimiter, type RequestLimiter, withRequestFallback } from '@dingtalk-gateway/rate-limiter';
import { RedisRequestLimiter } from '@dingtalk-gateway/rate-limiter/redis';
import { createMemoryTokenProvider } from '@dingtalk-gateway/token-provider';
import { createRedisTokenProvider } from '@dingtalk-gateway/token-provider/redis';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../../config/schema.js';
import type { GatewayMetrics } from '../../core/observability/metrics.js';
import type { TokenProviderFactory } from '../../core/tokens/registry.js';
import type { IdempotencyStore } from '../../core/idempotency/interface.js';
import type { LimitsWithCall } from '../../core/quota/limits-with-call.js';
import { RedisIdempotencyStore } from '../../core/idempotency/redis.js';
import type { ReadCacheStore } from '../../core/read-cache/interface.js';
import { RedisReadCacheStore } from '../../core/read-cache/redis.js';
import { RedisRevokedKeys, revokeKeys } from './revocations.js';

export interface RedisStores {
  /** Tenants' limits and DingTalk's QPS guard: one round trip per request, shared by the requests of an event-loop turn. */
  requestLimiter: RequestLimiter;
  tokenProviders: TokenProviderFactory;
  /** The monthly call ledger: one hash per org and month; counts made while Redis is away are added when it is back. */
  ledger: QuotaLedger;
  /** The limits and the ledger's reservation of a metered request in one script run (the ledger's count as the limits script's companion). */
  limitsWithCall: LimitsWithCall;
  /** The read cache, shared: one fetch of a read for all instances, invalidations seen by all. */
  readCacheStore: ReadCacheStore;
  /** What became of POSTs with an Idempotency-Key: one send per key whichever instance gets it. */
  idempotencyStore: IdempotencyStore;
  /** API keys revoked while running, read from Redis every 500 ms by every instance. */
  revokedKeys: RedisRevokedKeys;
  /** Adds keys to the shared revoked set (a reload that drops them). */
  revoke(hashes: readonly string[]): Promise<number>;
  /**
   * Resolves once Redis answers, or after `timeoutMs` when it does not: start serving then, on
   * the fallbacks. Listening before the client is connected would send the first requests to
   * the fallbacks (a token fetched per instance, limits per instance).
   */
  connected(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

type RedisConfig = NonNullable<GatewayConfig['redis']>;

/** The read cache's settings that come from the rest of the config. */
export interface ReadCacheSettings {
  keepInvalidationsMs: number;
  /** How long one instance may fetch a read while the others wait for it. */
  lockMs: number;
}

/** Default for tests of the other stores: lifetimes of a few minutes, DingTalk's default timeout. */
const READ_CACHE_DEFAULTS: ReadCacheSettings = { keepInvalidationsMs: 10 * 60_000, lockMs: 31_000 };

export function createRedisStores(
  redisConfig: RedisConfig,
  env: NodeJS.ProcessEnv,
  logger: Logger,
  metrics: GatewayMetrics,
  cache: ReadCacheSettings = READ_CACHE_DEFAULTS,
  /** Each key this instance sees revoked, once (the audit log). */
  onRevoked?: (sha256: string) => void,
): RedisStores {
  const url = redisConfig.url ?? env[redisConfig.urlEnv!];
  if (!url) throw new Error(`redis.urlEnv: environment variable ${redisConfig.urlEnv} is not set`);
  const redis = new Redis(url, {
    // Fail commands at once while disconnected rather than queueing them: the fallbacks answer.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(100 * attempt, 2_000),
  });
  redis.on('error', () => {}); // reported through the stores' trip/recover events, once per outage

  const events = (store: string) => {
    metrics.redisUp.set({ store }, 1);
    return {
      onTrip: (error: unknown) => {
        metrics.redisFallbacks.inc({ store });
        metrics.redisUp.set({ store }, 0);
        logger.warn({ store, policy: store === 'tokens' || store === 'readCache' ? 'local' : redisConfig.whenDown, error: (error as Error).message }, 'Redis unavailable; store on its fallback');
      },
      onRecover: () => {
        metrics.redisUp.set({ store }, 1);
        logger.info({ store }, 'Redis available again; store back on Redis');
      },
    };
  };
  const mode: FallbackMode = redisConfig.whenDown;
  const prefix = redisConfig.keyPrefix;
  // One store (metrics label `rateLimits`) for the tenants' limits and the QPS guard: one script decides both.
  // `closed`: the limiter is unavailable while Redis is away, which the rate-limit step answers
  // 503 gateway.unavailable (not a 429 that would tell the tenant it is over its rate).
  const requestLimiter = withRequestFallback(
    new RedisRequestLimiter({ redis, ratePrefix: `${prefix}rl:`, windowPrefix: `${prefix}qps:`, timeoutMs: redisConfig.timeoutMs, companion: LEDGER_COMPANION }),
    { mode, ...events('rateLimits') },
  );
  const ledger = withLedgerFallback(new RedisQuotaLedger({ redis, prefix, timeoutMs: redisConfig.timeoutMs }), {
    mode,
    ...events('ledger'),
    onReplayError: (error) => logger.warn({ store: 'ledger', error: (error as Error).message }, 'calls counted while Redis was away not yet added to it; retrying'),
  });
  const tokenEvents = events('tokens');
  const tokenProviders: TokenProviderFactory = (appId, fetchToken, onFetch) =>
    createRedisTokenProvider({
      redis,
      key: `${prefix}token:${appId}`,
      fetchToken,
      onFetch,
      redisTimeoutMs: redisConfig.tokenTimeoutMs,
      fallback: createMemoryTokenProvider({ fetchToken, onFetch }),
      onRedisState: (state, error) => (state === 'error' ? tokenEvents.onTrip(error) : tokenEvents.onRecover()),
    });

  const cacheEvents = events('readCache');
  const readCacheStore = new RedisReadCacheStore({
    redis,
    prefix,
    keepInvalidationsMs: cache.keepInvalidationsMs,
    lockMs: cache.lockMs,
    timeoutMs: redisConfig.timeoutMs,
    ...cacheEvents,
  });

  const revokedKeys = new RedisRevokedKeys({
    redis,
    prefix,
    onRevoked: (sha256) => {
      logger.warn({ key: sha256.slice(0, 12) }, 'API key revoked: refused from now on');
      onRevoked?.(sha256);
    },
  });

  return {
    requestLimiter,
    limitsWithCall: limitsWithCall(requestLimiter, ledger),
    tokenProviders,
    revokedKeys,
    revoke: (hashes) => revokeKeys(redis, prefix, hashes),
    ledger,
    readCacheStore,
    idempotencyStore: new RedisIdempotencyStore({ redis, prefix, timeoutMs: redisConfig.timeoutMs }),
    async connected(timeoutMs) {
      if (redis.status === 'ready') {
        await revokedKeys.refresh();
        return true;
      }
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          redis.off('ready', onReady);
          logger.warn({ timeoutMs }, 'Redis not reachable at start; serving on the fallbacks until it is');
          resolve(false);
        }, timeoutMs);
        const onReady = () => {
          clearTimeout(timer);
          // Keys revoked before this start are refused from the first request.
          void revokedKeys.refresh().then(() => resolve(true));
        };
        redis.once('ready', onReady);
      });
    },
    async close() {
      revokedKeys.close();
      redis.disconnect();
    },
  };
}

/**
 * The ledger's reservation made in the limits' script run, while both stores are on Redis and the
 * ledger has no outage's counts to add first; otherwise (`undefined`) each store decides on its own.
 */
function limitsWithCall(limiter: FallbackRequestLimiter, ledger: FallbackQuotaLedger): LimitsWithCall {
  return {
    checkAndReserve(checks, account, operationId, month) {
      if (limiter.state !== 'primary' || !ledger.companionReady) return undefined;
      return limiter.checkWith(checks, ledger.reservationCall(account, operationId, month)).then(({ outcomes, companion }) => ({
        outcomes,
        reservation: companion === undefined ? undefined : ledger.reservationOf(account, month, companion),
      }));
    },
  };
}
