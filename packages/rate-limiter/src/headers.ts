/**
 * Response header values for a decision, per draft-ietf-httpapi-ratelimit-headers-11
 * (IETF HTTPAPI WG, May 2026; field syntax unchanged since -08):
 *
 *   RateLimit-Policy: "<name>";q=<quota>;w=<window seconds>     (section 3.1: q and w Integers)
 *   RateLimit: "<name>";r=<available quota>;t=<seconds>          (section 4.1: r and t Integers)
 *
 * plus `Retry-After` (RFC 9110, section 10.2.3: delay-seconds) on denials. The name is a
 * Structured Field String (RFC 9651), so it is quoted and escaped here.
 *
 * Mapping GCRA onto a "q units per w seconds" policy is lossy, so we advertise the conservative
 * reading: q = burst and w = the time to refill a whole burst, ceil(burst / rate), at least 1 s
 * (w must be a non-zero integer). A client that never sends more than q requests in any sliding
 * w-second window is never throttled: it sends at most q * (floor(t / w) + 1) in any t seconds,
 * which is <= burst + rate * t, GCRA's admission bound.
 * It understates policies that refill in under a second (e.g. rate 100, burst 5 says 5 per 1 s):
 * erring low is harmless for a hint, erring high would cause 429s.
 */
import type { RateLimitDecision, RateLimitPolicy } from './interface.js';

export interface RateLimitHeaderValues {
  /** Static per policy: clients may cache it. */
  'RateLimit-Policy': string;
  /** This key's state after the decision: r = `remaining`, t = `resetMs` in seconds, rounded up. */
  RateLimit: string;
  /**
   * Only on denials that a retry can fix: seconds until the request would be admitted, rounded
   * up, >= 1. Absent when allowed, and when `cost > burst` (no wait helps; see `retryAfterMs`).
   */
  'Retry-After'?: string;
}

/**
 * Header values for one decision. Pure; set them on the response as they are, e.g.
 * `for (const [name, value] of Object.entries(rateLimitHeaders('tenant', policy, decision))) c.header(name, value)`.
 */
export function rateLimitHeaders(
  policyName: string,
  policy: RateLimitPolicy,
  decision: RateLimitDecision,
): RateLimitHeaderValues {
  const name = sfString(policyName);
  // The slack keeps float noise (3 / 0.3 = 10.000000000000002) from adding a second.
  const windowSeconds = Math.max(1, Math.ceil(policy.burst / policy.rate - 1e-9));
  const headers: RateLimitHeaderValues = {
    'RateLimit-Policy': `${name};q=${policy.burst};w=${windowSeconds}`,
    RateLimit: `${name};r=${decision.remaining};t=${Math.ceil(decision.resetMs / 1000)}`,
  };
  if (!decision.allowed && Number.isFinite(decision.retryAfterMs)) {
    headers['Retry-After'] = String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000)));
  }
  return headers;
}

/**
 * Policy names already encoded. A gateway uses a couple of fixed names (`tenant`, `operation`)
 * on every answer, so the check and escaping are done once per name, not per request
 * (performance). Bounded, so a caller passing ever-new names cannot grow it without limit.
 */
const encodedNames = new Map<string, string>();
const MAX_ENCODED_NAMES = 64;

/** RFC 9651 section 4.1.6: printable ASCII only, with `"` and `\` escaped. */
function sfString(value: string): string {
  const cached = encodedNames.get(value);
  if (cached !== undefined) return cached;
  if (!/^[\x20-\x7e]*$/.test(value)) {
    throw new TypeError(`rate limit policy name must be printable ASCII, got ${JSON.stringify(value)}`);
  }
  const encoded = `"${value.replace(/[\\"]/g, '\\$&')}"`;
  if (encodedNames.size < MAX_ENCODED_NAMES) encodedNames.set(value, encoded);
  return encoded;
}
