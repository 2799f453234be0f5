/**
 * `withRequestFallback`: which fallback decides while the primary is unreachable, per mode. The
 * circuit itself (probing once per interval, one probe at a time, late failures, hooks) is
 * tested in `@dingtalk-gateway/circuit-breaker`; the real Redis case in `redis-request.test.ts`.
 */
import { describe, expect, it, vi } from 'vitest';
import { type RequestFallbackOptions, withRequestFallback } from './fallback.js';
import { RateLimiterUnavailableError } from './interface.js';
import { type LimitCheck, MemoryRequestLimiter, type RequestLimiter } from './request-limits.js';

const checks: LimitCheck[] = [
  { kind: 'rate', key: 'tenant:a', policy: { rate: 1, burst: 2 } },
  { kind: 'window', key: 'app:x', policy: { limit: 3, windowMs: 1_000 } },
];

/** A primary we can take down and bring back; its decisions are recognizable (remaining 42). */
class FakePrimary implements RequestLimiter {
  down = false;
  calls = 0;

  async check(requested: readonly LimitCheck[]) {
    this.calls++;
    if (this.down) throw new RateLimiterUnavailableError('timeout', 'fake primary is down');
    return requested.map((check) =>
      check.kind === 'rate'
        ? { kind: 'rate' as const, decision: { allowed: true, limit: check.policy.burst, remaining: 42, resetMs: 0, retryAfterMs: 0 } }
        : { kind: 'window' as const, decision: { allowed: true, remaining: 42, retryAfterMs: 0 } },
    );
  }
}

function setup(options: RequestFallbackOptions = {}) {
  const clock = { t: 0, now() { return this.t; } };
  const primary = new FakePrimary();
  const onTrip = vi.fn();
  const onRecover = vi.fn();
  const limits = withRequestFallback(primary, { clock, onTrip, onRecover, probeIntervalMs: 1000, ...options });
  return { clock, primary, limits, onTrip, onRecover };
}

const remaining = (outcomes: ReadonlyArray<{ decision: { remaining: number } }>) => outcomes.map((o) => o.decision.remaining);
const allowed = (outcomes: ReadonlyArray<{ decision: { allowed: boolean } }>) => outcomes.map((o) => o.decision.allowed);

describe('withRequestFallback', () => {
  it('passes decisions through while the primary answers', async () => {
    const { limits, primary, onTrip } = setup();
    expect(remaining(await limits.check(checks))).toEqual([42, 42]);
    expect(primary.calls).toBe(1);
    expect(limits.state).toBe('primary');
    expect(onTrip).not.toHaveBeenCalled();
  });

  it('local (default): limits in this process while the primary is down, tripping once, then back on the primary', async () => {
    const { limits, primary, clock, onTrip, onRecover } = setup();
    primary.down = true;
    // The tenant's burst of 2, then refused: tenants stay limited while Redis is down.
    expect(allowed(await limits.check(checks))).toEqual([true, true]);
    expect(allowed(await limits.check(checks))).toEqual([true, true]);
    expect(allowed(await limits.check(checks))).toEqual([false]);
    expect(limits.state).toBe('fallback');
    expect(onTrip).toHaveBeenCalledTimes(1);
    expect(onTrip.mock.calls[0]?.[0]).toBeInstanceOf(RateLimiterUnavailableError);
    expect(primary.calls).toBe(1); // not asked again before the probe is due

    primary.down = false;
    clock.t = 1000;
    expect(remaining(await limits.check(checks))).toEqual([42, 42]); // the probe's answer
    expect(limits.state).toBe('primary');
    expect(onRecover).toHaveBeenCalledTimes(1);
  });

  it('local: uses the given limiter', async () => {
    const local = new MemoryRequestLimiter({ clock: { now: () => 0 } });
    local.check(checks);
    local.check(checks);
    const { limits, primary } = setup({ local });
    primary.down = true;
    expect(allowed(await limits.check(checks))).toEqual([false]);
  });

  it('open: admits every check with its whole budget left, and still refuses an invalid policy', async () => {
    const { limits, primary } = setup({ mode: 'open' });
    primary.down = true;
    for (let i = 0; i < 10; i++) {
      expect(await limits.check(checks)).toEqual([
        { kind: 'rate', decision: { allowed: true, limit: 2, remaining: 2, resetMs: 0, retryAfterMs: 0 } },
        { kind: 'window', decision: { allowed: true, remaining: 3, retryAfterMs: 0 } },
      ]);
    }
    // A bad policy is a bug that shows before production, not first on a Redis outage.
    await expect(limits.check([{ kind: 'rate', key: 'k', policy: { rate: 0, burst: 1 } }])).rejects.toThrow(RangeError);
    await expect(limits.check([{ kind: 'window', key: 'k', policy: { limit: 0, windowMs: 1000 } }])).rejects.toThrow(RangeError);
  });

  it('closed: every request fails as unavailable until a probe answers', async () => {
    const { limits, primary, clock, onRecover } = setup({ mode: 'closed' });
    primary.down = true;
    for (let i = 0; i < 3; i++) await expect(limits.check(checks)).rejects.toBeInstanceOf(RateLimiterUnavailableError);
    expect(primary.calls).toBe(1);
    await expect(limits.check([{ kind: 'rate', key: 'k', policy: { rate: 0, burst: 1 } }])).rejects.toThrow(RangeError);
    primary.down = false;
    clock.t = 1000;
    expect(remaining(await limits.check(checks))).toEqual([42, 42]);
    expect(onRecover).toHaveBeenCalledTimes(1);
  });

  it('propagates other errors without tripping', async () => {
    const onTrip = vi.fn();
    const limits = withRequestFallback({ check: () => Promise.reject(new RangeError('bad policy')) }, { onTrip });
    await expect(limits.check(checks)).rejects.toThrow(RangeError);
    expect(limits.state).toBe('primary');
    expect(onTrip).not.toHaveBeenCalled();
  });
});
