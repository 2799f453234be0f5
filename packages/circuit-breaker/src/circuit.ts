/**
 * The circuit breaker of every store that has a fallback while its backing store (Redis) cannot
 * answer: the request limits, the monthly call ledger, the DingTalk tokens, the read cache.
 *
 * - closed (state `primary`): every call goes to the primary. The first failure that is an
 *   outage (an instance of `outage`) trips the circuit (`onTrip(error)`), and that call is
 *   answered by the fallback instead of failing.
 * - tripped (state `fallback`): calls are answered by the fallback at once, so a dead store costs
 *   no latency. At most once per `probeIntervalMs` one real call goes to the primary as a probe
 *   (the others keep using the fallback meanwhile); if it answers, its answer is used and the
 *   circuit closes again (`onRecover()`). So a dead store sees one call per interval, not the
 *   request rate, and only that probe waits for the primary's deadline.
 *
 * Any other error (a caller's bug, e.g. a `RangeError` for a bad argument) propagates and never
 * trips the circuit. A call that began before a recovery and fails after it does not trip the
 * freshly closed circuit again. Throwing hooks are ignored.
 *
 * ```ts
 * const circuit = new Circuit({ outage: RedisDown, onTrip: (error) => log.warn({ error }, 'Redis down'), onRecover: () => log.info('Redis back') });
 * const entry = await circuit.call(() => readFromRedis(key), async () => local.get(key));
 * ```
 */

/** `primary` while the primary answers, `fallback` while tripped (for readiness and metrics). */
export type CircuitState = 'primary' | 'fallback';

export interface CircuitOptions<E extends Error = Error> {
  /** The class of the primary's errors that mean it cannot answer (timeout, connection refused): these trip the circuit. */
  outage: abstract new (...args: never[]) => E;
  /** Minimum time between probes of a tripped primary, in ms. Default 1000. */
  probeIntervalMs?: number;
  /** Millisecond clock for probe scheduling. Default `performance`. */
  clock?: { now(): number };
  /** Called once per outage, with the error that tripped the circuit. */
  onTrip?(error: E): void;
  /** Called once when the primary answers again. */
  onRecover?(): void;
}

export class Circuit<E extends Error = Error> {
  private readonly outage: CircuitOptions<E>['outage'];
  private readonly probeIntervalMs: number;
  private readonly clock: { now(): number };
  private readonly onTrip: ((error: E) => void) | undefined;
  private readonly onRecover: (() => void) | undefined;
  private tripped = false;
  private probing = false;
  private nextProbeAt = 0;
  // Bumped on recovery, so a call that started before the outage ended and fails late
  // cannot trip the freshly closed circuit again.
  private generation = 0;

  constructor(options: CircuitOptions<E>) {
    this.outage = options.outage;
    this.probeIntervalMs = options.probeIntervalMs ?? 1000;
    this.clock = options.clock ?? performance;
    this.onTrip = options.onTrip;
    this.onRecover = options.onRecover;
  }

  get state(): CircuitState {
    return this.tripped ? 'fallback' : 'primary';
  }

  /** `primary()`'s answer while it can give one, else `fallback()`'s; see the module comment. */
  async call<T>(primary: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    if (!this.tripped) {
      const generation = this.generation;
      try {
        return await primary();
      } catch (error) {
        if (!(error instanceof this.outage)) throw error;
        if (generation === this.generation) this.trip(error);
        return fallback();
      }
    }
    if (!this.probing && this.clock.now() >= this.nextProbeAt) {
      this.probing = true;
      try {
        const answer = await primary();
        this.recover();
        return answer;
      } catch (error) {
        if (!(error instanceof this.outage)) throw error;
        this.nextProbeAt = this.clock.now() + this.probeIntervalMs;
      } finally {
        this.probing = false;
      }
    }
    return fallback();
  }

  private trip(error: E): void {
    if (this.tripped) return;
    this.tripped = true;
    this.nextProbeAt = this.clock.now() + this.probeIntervalMs;
    try {
      this.onTrip?.(error);
    } catch {
      // A throwing hook must not turn a handled outage into failed calls.
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
