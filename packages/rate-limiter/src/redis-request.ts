/**
 * The request limits shared by every gateway instance through Redis: all the limits of a request
 * in one round trip, shared with the requests that arrived in the same event-loop turn. A single
 * Lua script (`requestLua`, on Redis `TIME`, so instances with skewed clocks still agree) decides
 * each request's checks in order (GCRA buckets and sliding-window logs, see `redis-lua.ts`),
 * stops at its first refusal, and answers every decision it made. Atomic: concurrent instances
 * can neither double-spend a bucket nor admit more than a window's limit together.
 *
 * Keys: a `rate` check's bucket is a string under `ratePrefix` (`dtg:rl:`), a `window` check's
 * log a sorted set under `windowPrefix` (`dtg:rlw:`), so one key name used with both never meets
 * `WRONGTYPE`. Every key expires once it holds no information, so Redis needs no sweeping. One
 * script touches several keys: on a Redis Cluster they would have to share a hash slot, so a
 * Cluster client is refused.
 *
 * This class only reports failure (`RateLimiterUnavailableError`, past `timeoutMs` or when the
 * connection fails); what to do while Redis is unreachable is decided by `withRequestFallback`
 * (see `fallback.ts`).
 *
 * ```ts
 * const limits = withRequestFallback(new RedisRequestLimiter({ redis, ratePrefix: 'dtg:rl:', windowPrefix: 'dtg:qps:' }));
 * ```
 */
import { Cluster, type Redis } from 'ioredis';
import { EPSILON_MS, assertPolicy, toDecision } from './gcra.js';
import { CLOCK, FLUSH_FUNCTION, GCRA_FUNCTION, WINDOW_FUNCTION } from './redis-lua.js';
import { DEFAULT_TIMEOUT_MS, callRedis, defineScript } from './redis-script.js';
import { RateLimiterUnavailableError } from './interface.js';
import type { CompanionCall, CompanionLimiter, CompanionOutcome, LimitCheck, LimitOutcome } from './request-limits.js';
import { admitted, assertWindowPolicy, denied } from './window.js';

/**
 * The checks of several requests, decided in arrival order at one Redis time. KEYS: every
 * request's keys, one per check, then its companion's key if it has one, request after request.
 * ARGV, per request: its number of checks, then five per check: `rate`, interval ms, burst, cost,
 * slack ms; or `window`, limit, window µs, 0, 0; then its companion's number of arguments (0:
 * none) and those arguments. Reply, per request: the number of decisions made, then three per
 * decision as `gcra` and `window_hit` return them (see `redis-lua.ts`), up to and including its
 * first refusal; then, if it has a companion, the number of values of the companion's reply (0
 * when a check refused it: the companion is not called) and those values.
 *
 * `companionLua` defines `local function companion(key, args)` (args: the request's companion
 * arguments, as strings), returning a flat array of numbers and strings, and
 * `companion_flush()`, called once at the end of the run (for writes the companion kept for it).
 */
export const requestLua = (companionLua = NO_COMPANION) => `${GCRA_FUNCTION}${WINDOW_FUNCTION}${FLUSH_FUNCTION}${companionLua}${CLOCK}
local out = {}
local key = 0
local at = 1
while at <= #ARGV do
  local checks = tonumber(ARGV[at])
  at = at + 1
  local count_at = #out + 1
  out[count_at] = 0
  local refused = false
  for i = 1, checks do
    if not refused then
      local allowed, a, b
      if ARGV[at] == 'rate' then
        allowed, a, b = gcra(KEYS[key + i], tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3]), tonumber(ARGV[at + 4]), now_ms)
      else
        allowed, a, b = window_hit(KEYS[key + i], tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), now_us)
      end
      out[count_at] = out[count_at] + 1
      out[#out + 1] = allowed
      out[#out + 1] = a
      out[#out + 1] = b
      refused = allowed == 0
    end
    at = at + 5
  end
  key = key + checks
  local extra = tonumber(ARGV[at])
  at = at + 1
  if extra > 0 then
    key = key + 1
    if refused then
      out[#out + 1] = 0
    else
      local args = {}
      for j = 1, extra do args[j] = ARGV[at + j - 1] end
      local reply = companion(KEYS[key], args)
      out[#out + 1] = #reply
      for j = 1, #reply do out[#out + 1] = reply[j] end
    end
    at = at + extra
  end
end
flush_limits(now_ms)
companion_flush()
return out
`;

/** The companion of a script without one: never called (no request has companion arguments), and nothing to flush. */
const NO_COMPANION = `
local function companion_flush() end
`;

/** Name of the ioredis custom command; versioned with the script (see `defineScript`), and named after its companion's. */
const COMMAND = 'dtgRequestLimitsV7';

type RequestCommand = (numberOfKeys: number, ...keysThenArgs: Array<string | number>) => Promise<Array<number | string>>;

/** Default `maxBatch`: 64 requests of three checks keep one script run under a millisecond. */
export const DEFAULT_MAX_BATCH = 64;

export interface RedisRequestLimiterOptions {
  /** A connected (or auto-connecting) ioredis client, on one Redis node; shared with the rest of the app is fine. */
  redis: Redis;
  /** Prepended to the keys of `rate` checks. Default `dtg:rl:`. */
  ratePrefix?: string;
  /** Prepended to the keys of `window` checks. Default `dtg:rlw:`. */
  windowPrefix?: string;
  /**
   * Upper bound on one script run's round trip, in ms. Default 50. Past it the requests it decides
   * fail with `RateLimiterUnavailableError('timeout')`; the run may still reach Redis later and be
   * counted, which errs on the strict side.
   */
  timeoutMs?: number;
  /** Most requests one script run decides (a bigger turn is sent in several). Default 64. */
  maxBatch?: number;
  /**
   * The Lua of another store's call that requests may make in the same script run as their
   * limits (`checkWith`): `lua` defines `local function companion(key, args)` and
   * `companion_flush()` (see `requestLua`); `name` versions it
   * as `COMMAND` versions the limits' script.
   */
  companion?: { readonly name: string; readonly lua: string };
}

/** A request waiting for the script run that decides it. */
interface Waiting {
  readonly checks: readonly LimitCheck[];
  readonly keys: string[];
  readonly args: Array<string | number>;
  /** Whether the request has a companion call (its reply then follows the decisions). */
  readonly companion: boolean;
  readonly resolve: (decided: CompanionOutcome) => void;
  readonly reject: (error: unknown) => void;
}

export class RedisRequestLimiter implements CompanionLimiter {
  private readonly run: RequestCommand;
  private readonly hasCompanion: boolean;
  private readonly ratePrefix: string;
  private readonly windowPrefix: string;
  private readonly timeoutMs: number;
  private readonly maxBatch: number;
  private waiting: Waiting[] = [];
  private scheduled = false;

  constructor(options: RedisRequestLimiterOptions) {
    if (options.redis instanceof Cluster) throw new TypeError('RedisRequestLimiter needs one Redis node (its script touches several keys), not a Cluster');
    const { companion } = options;
    this.run = defineScript<RequestCommand>(options.redis, companion ? `${COMMAND}_${companion.name}` : COMMAND, undefined, requestLua(companion?.lua));
    this.hasCompanion = companion !== undefined;
    this.ratePrefix = options.ratePrefix ?? 'dtg:rl:';
    this.windowPrefix = options.windowPrefix ?? 'dtg:rlw:';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${this.maxBatch}`);
  }

  check(checks: readonly LimitCheck[]): Promise<LimitOutcome[]> {
    if (checks.length === 0) return Promise.resolve([]);
    return this.decide(checks, undefined).then(outcomesOf);
  }

  /** The decisions of `checks` and, if they all admit the request, `call` to the companion, in the same script run. */
  checkWith(checks: readonly LimitCheck[], call: CompanionCall): Promise<CompanionOutcome> {
    if (!this.hasCompanion) return Promise.reject(new TypeError('RedisRequestLimiter: checkWith needs a companion in the options'));
    return this.decide(checks, call);
  }

  private decide(checks: readonly LimitCheck[], call: CompanionCall | undefined): Promise<CompanionOutcome> {
    const keys: string[] = [];
    const args: Array<string | number> = [checks.length];
    try {
      for (const check of checks) {
        if (check.kind === 'rate') {
          assertPolicy(check.policy);
          keys.push(this.ratePrefix + check.key);
          args.push('rate', 1000 / check.policy.rate, check.policy.burst, 1, EPSILON_MS);
        } else {
          assertWindowPolicy(check.policy);
          keys.push(this.windowPrefix + check.key);
          // Whole microseconds (Redis time's resolution), rounded up; the slack keeps float noise
          // (1.1 * 1000 = 1100.0000000000002) from adding a microsecond.
          args.push('window', check.policy.limit, Math.max(1, Math.ceil(check.policy.windowMs * 1000 - 1e-6)), 0, 0);
        }
      }
    } catch (error) {
      return Promise.reject(error);
    }
    if (call) {
      keys.push(call.key);
      args.push(call.args.length, ...call.args);
    } else args.push(0);
    return new Promise<CompanionOutcome>((resolve, reject) => {
      this.waiting.push({ checks, keys, args, companion: call !== undefined, resolve, reject });
      if (this.waiting.length >= this.maxBatch) this.send();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.sendScheduled);
      }
    });
  }

  /**
   * Why requests wait for the end of the turn (performance): Node runs the callbacks of every
   * socket that is ready in one poll phase, then `setImmediate`'s; so the requests that arrived
   * together share one script run, i.e. one write and one read on the Redis socket, one command
   * in ioredis and one deadline, where each used to cost its own. Decisions are unchanged: the
   * script decides each request's checks in arrival order, as if each had come alone.
   */
  private readonly sendScheduled = () => {
    this.scheduled = false;
    this.send();
  };

  private send(): void {
    const batch = this.waiting;
    if (batch.length === 0) return;
    this.waiting = [];
    const keys: string[] = [];
    const args: Array<string | number> = [];
    for (const request of batch) {
      for (const key of request.keys) keys.push(key);
      for (const arg of request.args) args.push(arg);
    }
    callRedis(() => this.run(keys.length, ...keys, ...args), this.timeoutMs).then(
      (reply) => {
        try {
          settle(batch, reply);
        } catch (error) {
          // Never leave a request waiting: a reply we cannot read counts as Redis failing (those
          // already settled keep their answer).
          const failure = new RateLimiterUnavailableError('error', `rate limiter: unexpected reply from Redis: ${(error as Error).message}`, { cause: error });
          for (const request of batch) request.reject(failure);
        }
      },
      (error: unknown) => {
        for (const request of batch) request.reject(error);
      },
    );
  }

}

const outcomesOf = (decided: CompanionOutcome): LimitOutcome[] => decided.outcomes;

/** Hands each request of a script run its decisions (see `requestLua` for the reply's layout). */
function settle(batch: readonly Waiting[], reply: ReadonlyArray<number | string>): void {
  let at = 0;
  for (const request of batch) {
    const made = Number(reply[at++]);
    if (!Number.isInteger(made) || made < Math.min(1, request.checks.length) || made > request.checks.length || at + made * 3 > reply.length) {
      throw new Error(`${reply.length} values for ${batch.length} requests`);
    }
    const outcomes: LimitOutcome[] = [];
    for (let i = 0; i < made; i++, at += 3) {
      const check = request.checks[i]!;
      const allowed = Number(reply[at]) === 1;
      const a = Number(reply[at + 1]);
      const b = Number(reply[at + 2]);
      outcomes.push(
        check.kind === 'rate'
          ? { kind: 'rate', decision: toDecision(allowed, check.policy, 1, a, b) }
          : { kind: 'window', decision: allowed ? admitted(Math.max(0, check.policy.limit - a)) : denied(b / 1000) },
      );
    }
    let companion: Array<number | string> | undefined;
    if (request.companion) {
      const length = Number(reply[at++]);
      if (!Number.isInteger(length) || length < 0 || at + length > reply.length) throw new Error(`${reply.length} values for ${batch.length} requests`);
      companion = length === 0 ? undefined : reply.slice(at, at + length);
      at += length;
    }
    request.resolve({ outcomes, companion });
  }
}
