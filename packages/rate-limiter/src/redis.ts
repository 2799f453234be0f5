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
import type { Cluster, Redis } from 'ioredis';
import { EPSILON_MS, assertCost, assertPolicy, toDecision } from './gcra.js';
import {
  RateLimiterUnavailableError,
  type RateLimitDecision,
  type RateLimitPolicy,
  type RateLimiter,
} from './interface.js';

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
export const GCRA_LUA = `
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local eps = tonumber(ARGV[4])

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000

local tat = now
local stored = tonumber(redis.call('GET', KEYS[1]) or '')
if stored and stored > now then tat = stored end

if cost > burst then
  return {0, string.format('%.17g', tat - now), '0'}
end
local new_tat = tat + cost * interval
local until_allowed = new_tat - burst * interval - now
if until_allowed > eps then
  return {0, string.format('%.17g', tat - now), string.format('%.17g', until_allowed)}
end
if cost > 0 then
  -- Expire exactly when the bucket is full again: from then on the key carries no state.
  redis.call('SET', KEYS[1], string.format('%.17g', new_tat), 'PX', math.max(1, math.ceil(new_tat - now)))
end
return {1, string.format('%.17g', new_tat - now), '0'}
`;

/**
 * Name of the ioredis custom command. Versioned so that a changed script never collides with an
 * older definition on a shared client; ioredis sends EVALSHA and falls back to EVAL on NOSCRIPT
 * (after `SCRIPT FLUSH`, a Redis restart or failover), so the script is loaded once per connection.
 */
const COMMAND = 'dtgGcraLimitV1';

type GcraReply = [allowed: number, untilFullMs: string, untilAllowedMs: string];
type GcraCommand = (
  key: string,
  intervalMs: number,
  burst: number,
  cost: number,
  epsilonMs: number,
) => Promise<GcraReply>;

export interface RedisRateLimiterOptions {
  /** A connected (or auto-connecting) ioredis client; shared with the rest of the app is fine. */
  redis: Redis | Cluster;
  /** Prepended to every key. Default `dtg:rl:`. */
  prefix?: string;
  /**
   * Upper bound on one decision's round trip, in ms. Default 50. Past it the call rejects with
   * `RateLimiterUnavailableError('timeout')`; the command may still reach Redis later and be
   * counted, which errs on the strict side.
   */
  timeoutMs?: number;
}

export class RedisRateLimiter implements RateLimiter {
  private readonly run: GcraCommand;
  private readonly prefix: string;
  private readonly timeoutMs: number;

  constructor(options: RedisRateLimiterOptions) {
    const redis = options.redis as (Redis | Cluster) & { [COMMAND]?: GcraCommand };
    if (typeof redis[COMMAND] !== 'function') {
      redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: GCRA_LUA });
    }
    const command = redis[COMMAND] as GcraCommand;
    this.run = command.bind(redis);
    this.prefix = options.prefix ?? 'dtg:rl:';
    this.timeoutMs = options.timeoutMs ?? 50;
  }

  async limit(key: string, policy: RateLimitPolicy, cost = 1): Promise<RateLimitDecision> {
    assertPolicy(policy);
    assertCost(cost);
    let reply: GcraReply;
    try {
      reply = await withTimeout(
        this.run(this.prefix + key, 1000 / policy.rate, policy.burst, cost, EPSILON_MS),
        this.timeoutMs,
      );
    } catch (err) {
      if (err instanceof RateLimiterUnavailableError) throw err;
      const detail = err instanceof Error ? err.message : String(err);
      throw new RateLimiterUnavailableError('error', `rate limiter: Redis call failed: ${detail}`, {
        cause: err,
      });
    }
    const [allowed, untilFullMs, untilAllowedMs] = reply;
    return toDecision(allowed === 1, policy, cost, Number(untilFullMs), Number(untilAllowedMs));
  }
}

function withTimeout<T>(pending: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new RateLimiterUnavailableError(
          'timeout',
          `rate limiter: Redis did not answer within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
  });
  // race() subscribes to `pending`, so a late rejection after the timeout is not unhandled.
  return Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
}
