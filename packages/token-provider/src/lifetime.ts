/**
 * How long to use a token and when to refresh it, from the `expireIn` DingTalk sent.
 *
 * Real clients have hit a tight refetch loop when `expireIn` came back 0 or missing, so a
 * value that makes no sense is replaced, never trusted: missing, zero, negative or not a
 * number → `fallbackLifetimeMs`; longer than DingTalk's documented 7200 s → clamped to it;
 * shorter than `minLifetimeMs` → raised to it.
 */
export interface LifetimePolicy {
  /** Start refreshing this long before expiry (capped at half the lifetime). Default 5 min. */
  refreshAheadMs: number;
  /** Lifetime used when `expireIn` is missing, zero or invalid. Default 60 s. */
  fallbackLifetimeMs: number;
  /** Shortest lifetime believed. Default 2 s. */
  minLifetimeMs: number;
  /** Longest lifetime believed: DingTalk documents 7200 s. */
  maxLifetimeMs: number;
}

export const DEFAULT_LIFETIME_POLICY: LifetimePolicy = {
  refreshAheadMs: 5 * 60_000,
  fallbackLifetimeMs: 60_000,
  minLifetimeMs: 2_000,
  maxLifetimeMs: 7_200_000,
};

export interface TokenTimes {
  /** From then on a background refresh is started; the token is still served. */
  refreshAt: number;
  /** From then on the token is not served any more (a margin before DingTalk's expiry). */
  expiresAt: number;
}

/** `fetchedAt` is when the fetch started, so the lifetime is never overestimated. */
export function tokenTimes(fetchedAt: number, expireInSeconds: number | undefined, policy: LifetimePolicy): TokenTimes {
  const lifetime = lifetimeMs(expireInSeconds, policy);
  // Never send a token that may expire while the request is on its way.
  const margin = Math.min(30_000, lifetime * 0.1);
  return {
    refreshAt: fetchedAt + lifetime - Math.min(policy.refreshAheadMs, lifetime / 2),
    expiresAt: fetchedAt + lifetime - margin,
  };
}

export function lifetimeMs(expireInSeconds: number | undefined, policy: LifetimePolicy): number {
  if (typeof expireInSeconds !== 'number' || !Number.isFinite(expireInSeconds) || expireInSeconds <= 0) {
    return policy.fallbackLifetimeMs;
  }
  return Math.min(policy.maxLifetimeMs, Math.max(policy.minLifetimeMs, expireInSeconds * 1000));
}
