/**
 * What the request limits do while the shared store (Redis) cannot answer: `withRequestFallback`
 * puts a `RedisRequestLimiter` behind the circuit breaker of `@dingtalk-gateway/circuit-breaker`.
 * The first `RateLimiterUnavailableError` trips it and that request is decided by the fallback;
 * while tripped every request is, at once (a dead Redis costs no latency), and at most once per
 * `probeIntervalMs` one request goes to Redis as a probe; the first that Redis answers closes the
 * circuit again.
 *
 * Fallback modes (the gateway's `redis.whenDown`):
 * - `local` (default): the limits of this process (`MemoryRequestLimiter`). The only mode that
 *   keeps every promise at once: callers never fail because of Redis, and no tenant runs
 *   unlimited. The cost is precision: with N instances a key may get up to N times its budget
 *   during the outage (for the DingTalk QPS guard the excess is answered by DingTalk with
 *   `QpsLimitForAppkeyAndApi`).
 * - `open`: admit everything (reported as full budgets). Never blocks, but a misbehaving tenant
 *   can then exhaust the DingTalk app's shared QPS for everyone.
 * - `closed`: decide nothing: every request fails with `RateLimiterUnavailableError` until Redis
 *   answers a probe (the gateway answers `503 gateway.unavailable`). Exact, but turns a Redis
 *   outage into a full gateway outage.
 *
 * Errors other than `RateLimiterUnavailableError` (e.g. `RangeError` for a bad policy) are caller
 * bugs, not outages: they propagate and never trip the circuit.
 *
 * ```ts
 * const limits = withRequestFallback(new RedisRequestLimiter({ redis }), { mode: 'local', onTrip: (error) => log.warn({ error }, 'limiting per instance') });
 * ```
 */
import { Circuit, type CircuitOptions, type CircuitState } from '@dingtalk-gateway/circuit-breaker';
import { assertPolicy } from './gcra.js';
import { RateLimiterUnavailableError } from './interface.js';
import { type CompanionCall, type CompanionLimiter, type CompanionOutcome, type LimitCheck, type LimitOutcome, MemoryRequestLimiter, type RequestLimiter } from './request-limits.js';
import { admitted, assertWindowPolicy } from './window.js';

export type FallbackMode = 'local' | 'open' | 'closed';

/**
 * A fallback's mode and its circuit breaker's options (probe interval, clock, `onTrip` and
 * `onRecover`): what `withRequestFallback` takes, and the call ledger's fallback too.
 */
export interface FallbackCircuitOptions extends Omit<CircuitOptions<RateLimiterUnavailableError>, 'outage'> {
  /** Default `local`; see the module comment for the trade-offs. */
  mode?: FallbackMode;
}

export interface RequestFallbackOptions extends FallbackCircuitOptions {
  /** What decides in `local` mode. Default: a new `MemoryRequestLimiter` (on `clock`, if given). */
  local?: RequestLimiter;
}

export interface FallbackRequestLimiter extends CompanionLimiter {
  /** `primary` while Redis answers, `fallback` while the circuit is tripped. */
  readonly state: CircuitState;
  check(checks: readonly LimitCheck[]): Promise<LimitOutcome[]>;
  /**
   * The primary's `checkWith` while it answers (and has one). The fallback never makes the
   * companion call (the reply's `companion` is `undefined`): the caller makes it on its own.
   */
  checkWith(checks: readonly LimitCheck[], call: CompanionCall): Promise<CompanionOutcome>;
}

export function withRequestFallback(primary: RequestLimiter | CompanionLimiter, options: RequestFallbackOptions = {}): FallbackRequestLimiter {
  const circuit = new Circuit({ ...options, outage: RateLimiterUnavailableError });
  const fallback = fallbackOf(options);
  const withoutCompanion = async (checks: readonly LimitCheck[]): Promise<CompanionOutcome> => ({ outcomes: await fallback.check(checks), companion: undefined });
  return {
    get state() {
      return circuit.state;
    },
    check: (checks) =>
      circuit.call(
        async () => primary.check(checks),
        async () => fallback.check(checks),
      ),
    checkWith: (checks, call) =>
      circuit.call(
        async () => ('checkWith' in primary ? primary.checkWith(checks, call) : { outcomes: await primary.check(checks), companion: undefined }),
        () => withoutCompanion(checks),
      ),
  };
}

function fallbackOf(options: RequestFallbackOptions): RequestLimiter {
  switch (options.mode ?? 'local') {
    case 'local':
      return options.local ?? new MemoryRequestLimiter({ clock: options.clock });
    case 'open':
      return { check: (checks) => checks.map(admittedUncounted) };
    case 'closed':
      return {
        check: (checks) => {
          // A bad policy is a bug whatever the store's state: it shows as one in every mode.
          for (const check of checks) assertCheck(check);
          throw new RateLimiterUnavailableError('error', 'rate limiter: Redis is unavailable and whenDown is closed');
        },
      };
  }
}

/** `open`: every check admitted, with its whole budget left (nothing is counted). */
function admittedUncounted(check: LimitCheck): LimitOutcome {
  assertCheck(check);
  if (check.kind === 'window') return { kind: 'window', decision: admitted(check.policy.limit) };
  const { burst } = check.policy;
  return { kind: 'rate', decision: { allowed: true, limit: burst, remaining: burst, resetMs: 0, retryAfterMs: 0 } };
}

function assertCheck(check: LimitCheck): void {
  if (check.kind === 'rate') assertPolicy(check.policy);
  else assertWindowPolicy(check.policy);
}
