/**
 * What to do while the shared limiter (Redis) cannot answer: a small circuit breaker, one state
 * machine (`Circuit`) behind two thin wrappers: `withFallback` for GCRA `RateLimiter`s and
 * `withWindowFallback` for sliding-window `WindowLimiter`s.
 *
 * - closed circuit: every call goes to `primary`. The first `RateLimiterUnavailableError` trips
 *   it (`onTrip(err)`) and that call is answered by the fallback instead of failing.
 * - tripped: calls are answered by the fallback at once, so a dead Redis costs no latency. At most
 *   once per `probeIntervalMs` one real call is sent to `primary` as a probe (the others keep using
 *   the fallback meanwhile); if it answers, its decision is used and the circuit closes again
 *   (`onRecover()`). So a dead Redis sees one request per interval, not the full request rate,
 *   and only that probing request pays the primary's timeout.
 *
 * Fallback modes:
 * - `local` (default): decide with a per-instance limiter (`MemoryRateLimiter`,
 *   `MemoryWindowLimiter`). The only mode that keeps every promise at once: callers never fail
 *   because of Redis, and no tenant runs unlimited. The cost is precision: with N instances a key
 *   may get up to N times its budget during the outage (pass a `local` limiter that scales
 *   policies down if that matters; for the DingTalk QPS guard the excess is answered by DingTalk
 *   with `QpsLimitForAppkeyAndApi`).
 * - `open`: admit everything (reported as a full budget). Never blocks, but a misbehaving tenant
 *   can then exhaust the DingTalk app's shared QPS for everyone.
 * - `closed`: deny everything until Redis is back, with `retryAfterMs` pointing at the next
 *   probe. Exact, but turns a Redis outage into a full gateway outage.
 *
 * Errors other than `RateLimiterUnavailableError` (e.g. `RangeError` for a bad policy) are caller
 * bugs, not outages: they propagate and never trip the circuit.
 */
import { assertCost, assertPolicy } from './gcra.js';
import type { Clock, RateLimitDecision, RateLimitPolicy, RateLimiter } from './interface.js';
import { RateLimiterUnavailableError } from './interface.js';
import { MemoryRateLimiter } from './memory.js';
import { MemoryWindowLimiter } from './memory-window.js';
import { NoopRateLimiter, NoopWindowLimiter } from './noop.js';
import { MemoryRequestLimiter, type RequestLimiter, SequentialRequestLimiter } from './request-limits.js';
import { assertWindowPolicy, denied } from './window.js';
import type { WindowDecision, WindowLimiter, WindowPolicy } from './window-interface.js';

export type FallbackMode = 'local' | 'open' | 'closed';

/** `primary` while the primary answers, `fallback` while tripped (for /readyz and metrics). */
export type FallbackState = 'primary' | 'fallback';

/** The circuit breaker's options, common to `withFallback` and `withWindowFallback`. */
export interface FallbackCircuitOptions {
  /** Default `local`; see the module comment for the trade-offs. */
  mode?: FallbackMode;
  /** Minimum time between probes of a tripped primary, in ms. Default 1000. */
  probeIntervalMs?: number;
  /** Clock for probe scheduling; defaults to `performance`. */
  clock?: Clock;
  /** Called once per outage, with the error that tripped the circuit. Exceptions are ignored. */
  onTrip?(error: RateLimiterUnavailableError): void;
  /** Called once when the primary answers again. Exceptions are ignored. */
  onRecover?(): void;
}

export interface FallbackOptions extends FallbackCircuitOptions {
  /** The limiter used in `local` mode. Default: a new `MemoryRateLimiter`. */
  local?: RateLimiter;
}

export interface WindowFallbackOptions extends FallbackCircuitOptions {
  /** The limiter used in `local` mode. Default: a new `MemoryWindowLimiter`. */
  local?: WindowLimiter;
}

export interface FallbackRateLimiter extends RateLimiter {
  readonly state: FallbackState;
}

export interface FallbackWindowLimiter extends WindowLimiter {
  readonly state: FallbackState;
}

export function withFallback(primary: RateLimiter, options: FallbackOptions = {}): FallbackRateLimiter {
  const circuit = new Circuit(options);
  const mode = options.mode ?? 'local';
  const fallback: RateLimiter = mode === 'local' ? (options.local ?? new MemoryRateLimiter({ clock: options.clock })) : modeRateLimiter(mode, circuit);
  return {
    get state() {
      return circuit.state;
    },
    limit: (key, policy, cost = 1) =>
      circuit.call(
        () => primary.limit(key, policy, cost),
        () => fallback.limit(key, policy, cost),
      ),
  };
}

export function withWindowFallback(
  primary: WindowLimiter,
  options: WindowFallbackOptions = {},
): FallbackWindowLimiter {
  const circuit = new Circuit(options);
  const mode = options.mode ?? 'local';
  const fallback: WindowLimiter = mode === 'local' ? (options.local ?? new MemoryWindowLimiter({ clock: options.clock })) : modeWindowLimiter(mode, circuit);
  return {
    get state() {
      return circuit.state;
    },
    hit: (key, policy) =>
      circuit.call(
        () => primary.hit(key, policy),
        () => fallback.hit(key, policy),
      ),
  };
}

/**
 * `primary` (a `RedisRequestLimiter`) behind the same circuit: while it is unreachable, the
 * request's checks go to `local` (default: a `MemoryRequestLimiter`), or are all
 * admitted (`open`), or refused at the first check (`closed`), exactly as `withFallback` and
 * `withWindowFallback` would decide each limit.
 */
export function withRequestFallback(primary: RequestLimiter, options: RequestFallbackOptions = {}): FallbackRequestLimiter {
  const circuit = new Circuit(options);
  const mode = options.mode ?? 'local';
  const fallback: RequestLimiter =
    mode === 'local'
      ? (options.local ?? new MemoryRequestLimiter(new MemoryRateLimiter({ clock: options.clock }), new MemoryWindowLimiter({ clock: options.clock })))
      : new SequentialRequestLimiter(modeRateLimiter(mode, circuit), modeWindowLimiter(mode, circuit));
  return {
    get state() {
      return circuit.state;
    },
    check: (checks) =>
      circuit.call(
        async () => primary.check(checks),
        async () => fallback.check(checks),
      ),
  };
}

export interface RequestFallbackOptions extends FallbackCircuitOptions {
  /** What decides in `local` mode. Default: a new `MemoryRequestLimiter`. */
  local?: RequestLimiter;
}

export interface FallbackRequestLimiter extends RequestLimiter {
  readonly state: FallbackState;
}

/** `open`: admits everything; `closed`: refuses everything until the next probe of the primary. */
function modeRateLimiter(mode: 'open' | 'closed', circuit: Circuit): RateLimiter {
  if (mode === 'open') return new NoopRateLimiter();
  return {
    limit: async (_key: string, policy: RateLimitPolicy, cost = 1): Promise<RateLimitDecision> => {
      assertPolicy(policy);
      assertCost(cost);
      const waitMs = circuit.untilProbeMs();
      return { allowed: false, limit: policy.burst, remaining: 0, resetMs: waitMs, retryAfterMs: waitMs };
    },
  };
}

/** As `modeRateLimiter`, for sliding windows. */
function modeWindowLimiter(mode: 'open' | 'closed', circuit: Circuit): WindowLimiter {
  if (mode === 'open') return new NoopWindowLimiter();
  return {
    hit: async (_key: string, policy: WindowPolicy): Promise<WindowDecision> => {
      assertWindowPolicy(policy);
      return denied(circuit.untilProbeMs());
    },
  };
}

/**
 * The state machine: which of two ways to decide one call, whatever a decision is. Exported for
 * the other Redis stores (the call ledger), so that one breaker serves them all.
 */
export class Circuit {
  private readonly probeIntervalMs: number;
  private readonly clock: Clock;
  private readonly onTrip: ((error: RateLimiterUnavailableError) => void) | undefined;
  private readonly onRecover: (() => void) | undefined;
  private tripped = false;
  private probing = false;
  private nextProbeAt = 0;
  // Bumped on recovery, so a call that started before the outage ended and fails late
  // cannot trip the freshly closed circuit again.
  private generation = 0;

  constructor(options: FallbackCircuitOptions) {
    this.probeIntervalMs = options.probeIntervalMs ?? 1000;
    this.clock = options.clock ?? performance;
    this.onTrip = options.onTrip;
    this.onRecover = options.onRecover;
  }

  get state(): FallbackState {
    return this.tripped ? 'fallback' : 'primary';
  }

  /** Milliseconds until the next probe, >= 1: when a `closed` denial may succeed. */
  untilProbeMs(): number {
    return Math.max(1, Math.ceil(this.nextProbeAt - this.clock.now()));
  }

  async call<T>(primary: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    if (!this.tripped) {
      const generation = this.generation;
      try {
        return await primary();
      } catch (err) {
        if (!(err instanceof RateLimiterUnavailableError)) throw err;
        if (generation === this.generation) this.trip(err);
        return fallback();
      }
    }
    if (!this.probing && this.clock.now() >= this.nextProbeAt) {
      this.probing = true;
      try {
        const decision = await primary();
        this.recover();
        return decision;
      } catch (err) {
        if (!(err instanceof RateLimiterUnavailableError)) throw err;
        this.nextProbeAt = this.clock.now() + this.probeIntervalMs;
      } finally {
        this.probing = false;
      }
    }
    return fallback();
  }

  private trip(error: RateLimiterUnavailableError): void {
    if (this.tripped) return;
    this.tripped = true;
    this.nextProbeAt = this.clock.now() + this.probeIntervalMs;
    try {
      this.onTrip?.(error);
    } catch {
      // A throwing hook must not turn a handled outage into failed requests.
    }
  }

  private recover(): void {
    if (!this.tripped) return;
    this.tripped = false;
    this.generation++;
    try {
      this.onRecover?.();
    } catch {
      // As in trip().
    }
  }
}
