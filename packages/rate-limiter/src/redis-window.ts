/**
 * Redis sliding-window limiter for several gateway instances sharing one window per key.
 *
 * One round trip per decision: a single Lua script prunes the key's log, counts it, decides and
 * records atomically, so concurrent instances can never admit more than `limit` per window
 * together. The log is a sorted set of the admissions still in the window (score: Redis `TIME` in
 * whole microseconds, read inside the script, so instances with skewed clocks still agree). The
 * key expires when its newest admission leaves the window, so Redis needs no sweeping.
 *
 * Resolution is one microsecond: a fractional `windowMs` is rounded up to whole microseconds.
 * A changed policy applies to the key's log as it is (the log holds every admission in the
 * window, so a new `limit` is exact at once). Keys live under their own prefix (`dtg:rlw:`), apart
 * from the GCRA limiter's string keys, so one key name used with both never meets `WRONGTYPE`.
 *
 * Like `RedisRateLimiter`, this only reports failure (`RateLimiterUnavailableError`); what to do
 * while Redis is unreachable is decided by `withWindowFallback` (see `fallback.ts`).
 */
import { CLOCK, WINDOW_FUNCTION } from './redis-lua.js';
import { DEFAULT_TIMEOUT_MS, callRedis, defineScript, type RedisLimiterOptions } from './redis-script.js';
import { admitted, assertWindowPolicy, denied } from './window.js';
import type { WindowDecision, WindowLimiter, WindowPolicy } from './window-interface.js';

/**
 * KEYS[1]: the log. ARGV: limit, window in whole microseconds.
 * Reply: { 1|0 allowed, admissions in the window after the decision, microseconds until the
 * oldest relevant admission leaves the window (0 when allowed) }: all integers.
 *
 * - Admissions at or before `now - window` have left the window: pruned first.
 * - Members are unique per admission: the score's digits, plus `-n` if an admission already holds
 *   that name (two admissions in the same microsecond, or Redis time stepped back), so no
 *   admission ever overwrites another.
 * - Denied with `count > limit` (the limit was lowered): the wait is until the
 *   `(count - limit + 1)`th oldest leaves, which brings the count below the limit.
 * - The key expires at the first whole millisecond at or after its newest admission leaves the
 *   window (PEXPIREAT on Redis time: Redis expires keys in ms, and an expiry rounded down would
 *   drop an admission still in the window).
 * - Numbers passed to `redis.call` are formatted with `%.0f`: Lua's default number-to-string
 *   keeps 14 digits, and microsecond times have 16.
 *
 * Calling TIME and then writing is only allowed because Redis replicates the script's *effects*,
 * as for `GCRA_LUA`; we require Redis >= 5.
 */
export const WINDOW_LUA = `${WINDOW_FUNCTION}${CLOCK}
return {window_hit(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), now_us)}
`;

/** Name of the ioredis custom command; versioned with the script (see `defineScript`). */
const COMMAND = 'dtgWindowHitV2';

type WindowReply = [allowed: number, count: number, untilFreeUs: number];
type WindowCommand = (key: string, limit: number, windowUs: number) => Promise<WindowReply>;

export interface RedisWindowLimiterOptions extends RedisLimiterOptions {
  /** Prepended to every key. Default `dtg:rlw:`. */
  prefix?: string;
}

export class RedisWindowLimiter implements WindowLimiter {
  private readonly run: WindowCommand;
  private readonly prefix: string;
  private readonly timeoutMs: number;

  constructor(options: RedisWindowLimiterOptions) {
    this.run = defineScript<WindowCommand>(options.redis, COMMAND, 1, WINDOW_LUA);
    this.prefix = options.prefix ?? 'dtg:rlw:';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async hit(key: string, policy: WindowPolicy): Promise<WindowDecision> {
    assertWindowPolicy(policy);
    const { limit } = policy;
    // The slack keeps float noise (1.1 * 1000 = 1100.0000000000002) from adding a microsecond.
    const windowUs = Math.max(1, Math.ceil(policy.windowMs * 1000 - 1e-6));
    const [allowed, count, untilFreeUs] = await callRedis(
      () => this.run(this.prefix + key, limit, windowUs),
      this.timeoutMs,
    );
    return allowed === 1 ? admitted(Math.max(0, limit - count)) : denied(untilFreeUs / 1000);
  }
}
