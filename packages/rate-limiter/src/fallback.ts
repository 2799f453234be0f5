/**
 * What to do while the shared limiter (Redis) cannot answer: a small circuit breaker.
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
 * - `local` (default): decide with a per-instance limiter (memory). The only mode that keeps
 *   every promise at once: callers never fail because of Redis, and no tenant runs unlimited.
 *   The cost is precision: with N instances a key may get up to N times its budget during the
 *   outage (pass a `local` limiter that scales policies down if that matters).
 * - `open`: admit everything (reported as a full bucket). Never blocks, but a misbehaving tenant
 *   can then exhaust the DingTalk app's shared QPS for everyone.
 * - `closed`: deny everything until Redis is back, with `retryAfterMs` pointing at the next
 *   probe. Exact, but turns a Redis outage into a full gateway outage.
 *
 * Errors other than `RateLimiterUnavailableError` (e.g. `RangeError` for a bad policy) are caller
 * bugs, not outages: they propagate and never trip the circuit.
 */
import type { Clock, RateLimitDecision, RateLimitPolicy, RateLimiter } from './interface.js';
import { RateLimiterUnavailableError } from './interface.js';
import { MemoryRateLimiter } from './memory.js';
import { NoopRateLimiter } from './noop.js';
import { assertCost, assertPolicy } from './gcra.js';

export type FallbackMode = 'local' | 'open' | 'closed';

export interface FallbackOptions {
  /** Default `local`; see the module comment for the trade-offs. */
  mode?: FallbackMode;
  /** The limiter used in `local` mode. Default: a new `MemoryRateLimiter`. */
  local?: RateLimiter;
  /** Minimum time between probes of a tripped primary, in ms. Default 1000. */
  probeIntervalMs?: number;
  /** Clock for probe scheduling; defaults to `performance`. */
  clock?: Clock;
  /** Called once per outage, with the error that tripped the circuit. Exceptions are ignored. */
  onTrip?(error: RateLimiterUnavailableError): void;
  /** Called once when the primary answers again. Exceptions are ignored. */
  onRecover?(): void;
}

export interface FallbackRateLimiter extends RateLimiter {
  /** `primary` while the primary answers, `fallback` while tripped (for /readyz and metrics). */
  readonly state: 'primary' | 'fallback';
}

export function withFallback(primary: RateLimiter, options: FallbackOptions = {}): FallbackRateLimiter {
  return new Fallback(primary, options);
}

class Fallback implements FallbackRateLimiter {
  private readonly fallback: RateLimiter;
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

  constructor(
    private readonly primary: RateLimiter,
    options: FallbackOptions,
  ) {
    const mode = options.mode ?? 'local';
    this.probeIntervalMs = options.probeIntervalMs ?? 1000;
    this.clock = options.clock ?? performance;
    this.onTrip = options.onTrip;
    this.onRecover = options.onRecover;
    this.fallback =
      mode === 'local'
        ? (options.local ?? new MemoryRateLimiter())
        : mode === 'open'
          ? new NoopRateLimiter()
          : { limit: (_key, policy, cost) => this.deny(policy, cost ?? 1) };
  }

  get state(): 'primary' | 'fallback' {
    return this.tripped ? 'fallback' : 'primary';
  }

  async limit(key: string, policy: RateLimitPolicy, cost = 1): Promise<RateLimitDecision> {
    if (!this.tripped) {
      const generation = this.generation;
      try {
        return await this.primary.limit(key, policy, cost);
      } catch (err) {
        if (!(err instanceof RateLimiterUnavailableError)) throw err;
        if (generation === this.generation) this.trip(err);
        return this.fallback.limit(key, policy, cost);
      }
    }
    if (!this.probing && this.clock.now() >= this.nextProbeAt) {
      this.probing = true;
      try {
        const decision = await this.primary.limit(key, policy, cost);
        this.recover();
        return decision;
      } catch (err) {
        if (!(err instanceof RateLimiterUnavailableError)) throw err;
        this.nextProbeAt = this.clock.now() + this.probeIntervalMs;
      } finally {
        this.probing = false;
      }
    }
    return this.fallback.limit(key, policy, cost);
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

  private async deny(policy: RateLimitPolicy, cost: number): Promise<RateLimitDecision> {
    assertPolicy(policy);
    assertCost(cost);
    const waitMs = Math.max(1, Math.ceil(this.nextProbeAt - this.clock.now()));
    return { allowed: false, limit: policy.burst, remaining: 0, resetMs: waitMs, retryAfterMs: waitMs };
  }
}
