/**
 * Redis GCRA limiter for several gateway instances sharing one budget per key.
 *
 * One round trip per decision: a single Lua script reads the key's TAT, decides, and writes it
 * back atomically, so concurrent instances can neither double-spend nor lose updates. The clock is
 * Redis `TIME`, read inside the script, so instances with skewed clocks still agree. Keys carry a
 * TTL equal to their time-to-full, after which they hold no information, so Redis needs no sweeping.
 *
 * This class only reports failure (`RateLimiterUnavailableError`); what to do while Redis is
 * unreachable is decided by `withFallback` (see `fallback.ts`).
 */
import { EPSILON_MS, assertCost, assertPolicy, toDecision } from './gcra.js';
import type { RateLimitDecision, RateLimitPolicy, RateLimiter } from './interface.js';
import { CLOCK, GCRA_FUNCTION } from './redis-lua.js';
import { DEFAULT_TIMEOUT_MS, callRedis, defineScript, type RedisLimiterOptions } from './redis-script.js';

/**
 * KEYS[1]: the bucket. ARGV: emission interval T in ms, burst, cost, float slack in ms.
 * Reply: { 1|0 allowed, ms until full, ms until allowed ("0" when allowed) }; the durations are
 * strings because Redis truncates Lua numbers in replies to integers.
 *
 * Calling TIME and then writing is only allowed because Redis replicates the script's *effects*
 * (the SET with its already computed value), never the script itself: the default since Redis 5
 * and the only mode since Redis 7, so replicas and AOF replay never re-read the clock. (On Redis
 * 3.2/4 this script would need `redis.replicate_commands()` first; we require Redis >= 5.)
 *
 * The TAT is stored with %.17g so it round-trips exactly; Lua's tostring keeps only 14 digits,
 * which would drift a saturated key by up to 0.01 ms per request.
 */
export const GCRA_LUA = `${GCRA_FUNCTION}${CLOCK}
return {gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), now_ms)}
`;

/** Name of the ioredis custom command; versioned with the script (see `defineScript`). */
const COMMAND = 'dtgGcraLimitV1';

type GcraReply = [allowed: number, untilFullMs: string, untilAllowedMs: string];
type GcraCommand = (
  key: string,
  intervalMs: number,
  burst: number,
  cost: number,
  epsilonMs: number,
) => Promise<GcraReply>;

export interface RedisRateLimiterOptions extends RedisLimiterOptions {
  /** Prepended to every key. Default `dtg:rl:`. */
  prefix?: string;
}

export class RedisRateLimiter implements RateLimiter {
  private readonly run: GcraCommand;
  private readonly prefix: string;
  private readonly timeoutMs: number;

  constructor(options: RedisRateLimiterOptions) {
    this.run = defineScript<GcraCommand>(options.redis, COMMAND, 1, GCRA_LUA);
    this.prefix = options.prefix ?? 'dtg:rl:';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async limit(key: string, policy: RateLimitPolicy, cost = 1): Promise<RateLimitDecision> {
    assertPolicy(policy);
    assertCost(cost);
    const [allowed, untilFullMs, untilAllowedMs] = await callRedis(
      () => this.run(this.prefix + key, 1000 / policy.rate, policy.burst, cost, EPSILON_MS),
      this.timeoutMs,
    );
    return toDecision(allowed === 1, policy, cost, Number(untilFullMs), Number(untilAllowedMs));
  }
}
