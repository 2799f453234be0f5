/**
 * The in-process token provider: one instance per DingTalk app.
 *
 * - First use fetches; concurrent callers share that one fetch.
 * - From `refreshAt` on, the cached token is still served while one background refresh runs.
 * - A failed refresh keeps serving the still-valid token and retries with backoff.
 * - With no valid token and a failing endpoint, callers fail fast with
 *   `TokenUnavailableError` until the backoff allows the next attempt (no stampede).
 *
 * ```ts
 * const provider = createMemoryTokenProvider({ fetchToken: internalAppToken({ baseUrl, appKey, appSecret }) });
 * const { token } = await provider.getToken();
 * ```
 */
import { type BackoffPolicy, DEFAULT_BACKOFF, backoffDelay } from './backoff.js';
import { type TokenFetcher, type TokenLease, type TokenProvider, TokenUnavailableError } from './interface.js';
import { DEFAULT_LIFETIME_POLICY, type LifetimePolicy, type TokenTimes, tokenTimes } from './lifetime.js';
import { fetchCheckedToken } from './checked-fetch.js';

export interface MemoryTokenProviderOptions {
  fetchToken: TokenFetcher;
  lifetime?: Partial<LifetimePolicy>;
  backoff?: Partial<BackoffPolicy>;
  /** Epoch ms; injectable for tests. */
  now?: () => number;
  random?: () => number;
  /** Called after every fetch, for metrics and logs. Must not throw. */
  onFetch?: (event: TokenFetchEvent) => void;
}

export type TokenFetchEvent = { ok: true; durationMs: number; background: boolean } | { ok: false; durationMs: number; background: boolean; error: unknown };

interface CachedToken extends TokenTimes {
  token: string;
}

export function createMemoryTokenProvider(options: MemoryTokenProviderOptions): TokenProvider {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const lifetime = { ...DEFAULT_LIFETIME_POLICY, ...options.lifetime };
  const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };

  let cached: CachedToken | undefined;
  let inFlight: Promise<CachedToken> | undefined;
  let failures = 0;
  let nextAttemptAt = 0;
  let lastError: unknown;

  function fetchOnce(background: boolean): Promise<CachedToken> {
    inFlight ??= (async () => {
      const startedAt = now();
      try {
        const fetched = await fetchCheckedToken(options.fetchToken);
        cached = { token: fetched.accessToken, ...tokenTimes(startedAt, fetched.expireIn, lifetime) };
        failures = 0;
        nextAttemptAt = 0;
        lastError = undefined;
        options.onFetch?.({ ok: true, durationMs: now() - startedAt, background });
        return cached;
      } catch (error) {
        failures += 1;
        lastError = error;
        nextAttemptAt = now() + backoffDelay(failures, backoff, random);
        options.onFetch?.({ ok: false, durationMs: now() - startedAt, background, error });
        throw error;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  }

  return {
    async getToken(): Promise<TokenLease> {
      const t = now();
      if (cached && t < cached.expiresAt) {
        if (t >= cached.refreshAt && !inFlight && t >= nextAttemptAt) {
          // Errors are kept in lastError and retried with backoff; the valid token is served meanwhile.
          fetchOnce(true).catch(() => {});
        }
        return { token: cached.token, fromCache: true };
      }
      if (!inFlight && failures > 0 && t < nextAttemptAt) {
        throw new TokenUnavailableError(lastError, nextAttemptAt);
      }
      try {
        const fresh = await fetchOnce(false);
        return { token: fresh.token, fromCache: false };
      } catch (error) {
        throw new TokenUnavailableError(error, nextAttemptAt);
      }
    },

    async invalidate(token: string): Promise<void> {
      if (cached?.token === token) cached = undefined;
    },
  };
}
