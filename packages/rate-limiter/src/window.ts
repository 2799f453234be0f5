/**
 * Sliding-window helpers shared by the in-process logs (`memory-window.ts`), `RedisRequestLimiter`
 * (its Lua mirrors the admission rule; see `redis-lua.ts`) and the `open` fallback. Internal: not
 * exported from the package.
 */
import type { WindowDecision, WindowPolicy } from './window-interface.js';

export function assertWindowPolicy(policy: WindowPolicy): void {
  const { limit, windowMs } = policy;
  if (!(Number.isInteger(limit) && limit >= 1)) {
    throw new RangeError(`window policy: limit must be an integer >= 1, got ${limit}`);
  }
  if (!(Number.isFinite(windowMs) && windowMs > 0)) {
    throw new RangeError(`window policy: windowMs must be a finite number > 0, got ${windowMs}`);
  }
}

export function admitted(remaining: number): WindowDecision {
  return { allowed: true, remaining, retryAfterMs: 0 };
}

/** A denial, `untilFreeMs` (> 0) before the oldest admission in the window leaves it. */
export function denied(untilFreeMs: number): WindowDecision {
  return { allowed: false, remaining: 0, retryAfterMs: Math.max(1, Math.ceil(untilFreeMs)) };
}
