/**
 * All the limits of one request in one Redis round trip: a single Lua script decides the checks
 * in order (GCRA buckets and sliding-window logs, the same algorithms and keys as
 * `RedisRateLimiter` and `RedisWindowLimiter`), stops at the first refusal, and answers every
 * decision it made. Asking those limiters in turn took a round trip per limit, each a write and
 * a read on the Redis socket and a deadline timer in the gateway.
 *
 * Same keys as the one-limit limiters (prefixes `dtg:rl:` and `dtg:rlw:` by default), so either
 * can serve the same budgets, e.g. while instances are upgraded one by one. One script touches
 * several keys: on a Redis Cluster they would have to share a hash slot, so a Cluster client is
 * refused; use the one-limit limiters there.
 *
 * Like them, it only reports failure (`RateLimiterUnavailableError`); what to do while Redis is
 * unreachable is decided by `withRequestFallback` (see `fallback.ts`).
 */
import { Cluster } from 'ioredis';
import { EPSILON_MS, assertPolicy, toDecision } from './gcra.js';
import { CLOCK, GCRA_FUNCTION, WINDOW_FUNCTION } from './redis-lua.js';
import { DEFAULT_TIMEOUT_MS, callRedis, defineScript, type RedisLimiterOptions } from './redis-script.js';
import type { LimitCheck, LimitOutcome, RequestLimiter } from './request-limits.js';
import { admitted, assertWindowPolicy, denied } from './window.js';

/**
 * KEYS: one per check, in order. ARGV: five per check: `rate`, interval ms, burst, cost, slack ms;
 * or `window`, limit, window µs, 0, 0. Reply: three per decision made, as the one-limit scripts
 * answer (see `GCRA_LUA`, `WINDOW_LUA`), up to and including the first refusal.
 */
export const REQUEST_LUA = `${GCRA_FUNCTION}${WINDOW_FUNCTION}${CLOCK}
local out = {}
for i = 1, #KEYS do
  local at = (i - 1) * 5
  local allowed, a, b
  if ARGV[at + 1] == 'rate' then
    allowed, a, b = gcra(KEYS[i], tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3]), tonumber(ARGV[at + 4]), tonumber(ARGV[at + 5]), now_ms)
  else
    allowed, a, b = window_hit(KEYS[i], tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3]), now_us)
  end
  out[#out + 1] = allowed
  out[#out + 1] = a
  out[#out + 1] = b
  if allowed == 0 then break end
end
return out
`;

/** Name of the ioredis custom command; versioned with the script (see `defineScript`). */
const COMMAND = 'dtgRequestLimitsV1';

type RequestCommand = (numberOfKeys: number, ...keysThenArgs: Array<string | number>) => Promise<Array<number | string>>;

export interface RedisRequestLimiterOptions extends Omit<RedisLimiterOptions, 'prefix'> {
  /** Prepended to the keys of `rate` checks. Default `dtg:rl:`, as `RedisRateLimiter`'s. */
  ratePrefix?: string;
  /** Prepended to the keys of `window` checks. Default `dtg:rlw:`, as `RedisWindowLimiter`'s. */
  windowPrefix?: string;
}

export class RedisRequestLimiter implements RequestLimiter {
  private readonly run: RequestCommand;
  private readonly ratePrefix: string;
  private readonly windowPrefix: string;
  private readonly timeoutMs: number;

  constructor(options: RedisRequestLimiterOptions) {
    if (options.redis instanceof Cluster) throw new TypeError('RedisRequestLimiter needs one Redis node (its script touches several keys); on a Cluster use RedisRateLimiter and RedisWindowLimiter');
    this.run = defineScript<RequestCommand>(options.redis, COMMAND, undefined, REQUEST_LUA);
    this.ratePrefix = options.ratePrefix ?? 'dtg:rl:';
    this.windowPrefix = options.windowPrefix ?? 'dtg:rlw:';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async check(checks: readonly LimitCheck[]): Promise<LimitOutcome[]> {
    if (checks.length === 0) return [];
    const keys: string[] = [];
    const args: Array<string | number> = [];
    for (const check of checks) {
      if (check.kind === 'rate') {
        assertPolicy(check.policy);
        keys.push(this.ratePrefix + check.key);
        args.push('rate', 1000 / check.policy.rate, check.policy.burst, 1, EPSILON_MS);
      } else {
        assertWindowPolicy(check.policy);
        keys.push(this.windowPrefix + check.key);
        // As RedisWindowLimiter: whole microseconds, the slack keeping float noise out.
        args.push('window', check.policy.limit, Math.max(1, Math.ceil(check.policy.windowMs * 1000 - 1e-6)), 0, 0);
      }
    }
    const reply = await callRedis(() => this.run(keys.length, ...keys, ...args), this.timeoutMs);
    const outcomes: LimitOutcome[] = [];
    for (let i = 0; i * 3 < reply.length; i++) {
      const check = checks[i]!;
      const allowed = Number(reply[i * 3]) === 1;
      const a = Number(reply[i * 3 + 1]);
      const b = Number(reply[i * 3 + 2]);
      outcomes.push(
        check.kind === 'rate'
          ? { kind: 'rate', decision: toDecision(allowed, check.policy, 1, a, b) }
          : { kind: 'window', decision: allowed ? admitted(Math.max(0, check.policy.limit - a)) : denied(b / 1000) },
      );
    }
    return outcomes;
  }
}
