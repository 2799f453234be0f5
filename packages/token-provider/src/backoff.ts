/** Exponential backoff with jitter between failed token fetches. */
export interface BackoffPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialDelayMs: 250, maxDelayMs: 30_000 };

/**
 * Delay before attempt `failures + 1`. Half fixed, half random ("equal jitter") so that
 * instances that failed together do not retry together, yet the wait never collapses to 0.
 */
export function backoffDelay(failures: number, policy: BackoffPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, failures - 1));
  return ceiling / 2 + (ceiling / 2) * random();
}
