/**
 * Sliding-window logs in this process, the windows of `MemoryRequestLimiter` (DingTalk's QPS
 * guard and per-IP window: exact for one instance, and the `local` fallback while Redis is down).
 * Internal: not exported from the package.
 *
 * Per key, a ring buffer of its last `limit` admission times (a `Float64Array` of size `limit`,
 * never-used slots at -Infinity) and the index of the oldest. A hit at `now` is admitted iff that
 * oldest of the last `limit` admissions is `<= now - windowMs`, i.e. out of the window: then fewer
 * than `limit` admissions are in `(now - windowMs, now]`, and the admission overwrites that slot.
 * O(1) to decide, O(log limit) for `remaining` (a binary search for the first admission still in
 * the window), and no allocation after the key's first hit; memory is `8 * limit` bytes per key.
 *
 * The clock must not run backwards (the default, `performance`, is monotonic): times in the
 * buffer are then in admission order, which the binary search relies on.
 *
 * Policy changes for a key: a new `windowMs` applies to the stored times as they are. A new
 * `limit` re-sizes the key's buffer (one allocation), keeping its newest admissions. That is exact
 * when the limit shrinks, and when it grows if the old buffer held every admission still in the
 * window, which is true unless the window grew too or the limit shrank within the last window;
 * otherwise the older admissions are forgotten (looser, for at most one window). Redis keeps the
 * whole window instead, so there a changed limit is always exact.
 *
 * A key is spent once its newest admission has left the window of the key's last hit: it then
 * decides exactly like a key never seen, and is dropped by the sweep described in `sweep.ts`. The
 * map never exceeds `max(minSweepSize, 2 * L)` keys, where L is the most keys with an admission
 * within their window at a sweep.
 */
import type { Clock } from './interface.js';
import { SweptMap, type SweepOptions } from './sweep.js';
import { admitted, assertWindowPolicy, denied } from './window.js';
import type { WindowDecision, WindowPolicy } from './window-interface.js';

/** One key's last `limit` admissions, oldest at `head`. */
interface WindowLog {
  readonly times: Float64Array;
  head: number;
  /** The window of the key's last hit, for the sweep. */
  windowMs: number;
}

export class WindowLogs {
  private readonly clock: Clock;
  private readonly logs: SweptMap<WindowLog>;

  /** `clock` defaults to `performance` (monotonic, immune to wall-clock jumps). */
  constructor(options: SweepOptions & { clock?: Clock } = {}) {
    this.clock = options.clock ?? performance;
    this.logs = new SweptMap(isSpent, options, this.clock.now());
  }

  /** Keys currently holding state (for metrics and tests). */
  get size(): number {
    return this.logs.size;
  }

  /** Decide one hit for `key` under `policy`, recording it if admitted. Throws `RangeError` on an invalid policy. */
  hit(key: string, policy: WindowPolicy): WindowDecision {
    assertWindowPolicy(policy);
    const { limit, windowMs } = policy;
    const now = this.clock.now();
    this.logs.tick(now);

    let log = this.logs.get(key);
    if (log === undefined || log.times.length !== limit) {
      log = resized(log, limit);
      this.logs.set(key, log);
    }
    log.windowMs = windowMs;

    const { times, head } = log;
    const cutoff = now - windowMs; // admissions at or before it have left the window
    const oldest = times[head]!;
    if (oldest > cutoff) return denied(oldest - cutoff);
    times[head] = now;
    log.head = head + 1 === limit ? 0 : head + 1;
    return admitted(leftWindow(log, cutoff));
  }

  /** Drop every key whose admissions have all left the window; returns how many were dropped. */
  sweep(): number {
    return this.logs.sweep(this.clock.now());
  }
}

function isSpent(log: WindowLog, now: number): boolean {
  const { times, head } = log;
  const newest = times[head === 0 ? times.length - 1 : head - 1]!;
  return newest <= now - log.windowMs;
}

/** A buffer of size `limit` holding the newest admissions of `log` (if any), oldest at 0. */
function resized(log: WindowLog | undefined, limit: number): WindowLog {
  const times = new Float64Array(limit).fill(Number.NEGATIVE_INFINITY);
  if (log !== undefined) {
    const old = log.times;
    const keep = Math.min(old.length, limit);
    for (let i = 0; i < keep; i++) {
      times[limit - keep + i] = old[(log.head + old.length - keep + i) % old.length]!;
    }
  }
  return { times, head: 0, windowMs: 0 };
}

/**
 * How many of the buffer's slots hold admissions out of the window (or were never used): a
 * prefix, counted from the oldest, since times are in admission order. The newest slot was just
 * written with `now`, which is in the window, so the answer is in `[0, limit - 1]`.
 */
function leftWindow(log: WindowLog, cutoff: number): number {
  const { times, head } = log;
  const n = times.length;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const i = head + mid;
    if (times[i < n ? i : i - n]! <= cutoff) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
