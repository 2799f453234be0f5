/**
 * Limiters that admit everything: for tests, local development, and routes that should carry
 * rate-limit headers without being limited. They report full budgets because nothing is counted.
 */
import { assertCost, assertPolicy } from './gcra.js';
import type { RateLimitDecision, RateLimitPolicy, RateLimiter } from './interface.js';
import { admitted, assertWindowPolicy } from './window.js';
import type { WindowDecision, WindowLimiter, WindowPolicy } from './window-interface.js';

export class NoopRateLimiter implements RateLimiter {
  async limit(_key: string, policy: RateLimitPolicy, cost = 1): Promise<RateLimitDecision> {
    // Validate anyway so a bad policy fails in development, not first in production on Redis.
    assertPolicy(policy);
    assertCost(cost);
    return { allowed: true, limit: policy.burst, remaining: policy.burst, resetMs: 0, retryAfterMs: 0 };
  }
}

export class NoopWindowLimiter implements WindowLimiter {
  async hit(_key: string, policy: WindowPolicy): Promise<WindowDecision> {
    assertWindowPolicy(policy); // as above
    return admitted(policy.limit);
  }
}
