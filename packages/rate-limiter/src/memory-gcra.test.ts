import { describe, expect, it } from 'vitest';
import type { RateLimitPolicy } from './interface.js';
import { GcraBuckets } from './memory-gcra.js';

/** A clock the test moves by hand. */
function manualClock(start = 0) {
  return {
    t: start,
    now() {
      return this.t;
    },
  };
}

/** Calls `limit` every `stepMs` from `start` through `start + durationMs`; returns how many were admitted. */
function drive(policy: RateLimitPolicy, durationMs: number, stepMs: number, start = 0): number {
  const clock = manualClock(start);
  const limiter = new GcraBuckets({ clock });
  let admitted = 0;
  const steps = Math.round(durationMs / stepMs);
  for (let i = 0; i <= steps; i++) {
    clock.t = start + i * stepMs;
    if ((limiter.limit('k', policy)).allowed) admitted++;
  }
  return admitted;
}

describe('GcraBuckets', () => {
  it('admits a burst from idle, then one request per emission interval', () => {
    const clock = manualClock();
    const limiter = new GcraBuckets({ clock });
    const policy = { rate: 10, burst: 3 };

    const first = limiter.limit('k', policy);
    expect(first).toEqual({ allowed: true, limit: 3, remaining: 2, resetMs: 100, retryAfterMs: 0 });
    expect(limiter.limit('k', policy)).toMatchObject({ allowed: true, remaining: 1, resetMs: 200 });
    expect(limiter.limit('k', policy)).toMatchObject({ allowed: true, remaining: 0, resetMs: 300 });

    // Denied: nothing consumed, and it says exactly when the next slot opens.
    expect(limiter.limit('k', policy)).toEqual({
      allowed: false,
      limit: 3,
      remaining: 0,
      resetMs: 300,
      retryAfterMs: 100,
    });
    clock.t = 99;
    expect(limiter.limit('k', policy)).toMatchObject({ allowed: false, retryAfterMs: 1, resetMs: 201 });
    clock.t = 100;
    expect(limiter.limit('k', policy)).toMatchObject({ allowed: true, remaining: 0, resetMs: 300 });

    // Idle long enough and the bucket is full again.
    clock.t = 100 + 300;
    expect(limiter.limit('k', policy)).toMatchObject({ allowed: true, remaining: 2, resetMs: 100 });
  });

  describe('exactness: driving a key for T seconds admits floor(rate * T) + burst', () => {
    const cases: Array<[policy: RateLimitPolicy, durationMs: number, stepMs: number]> = [
      [{ rate: 10, burst: 5 }, 10_000, 1],
      [{ rate: 3, burst: 7 }, 10_000, 1],
      [{ rate: 100, burst: 20 }, 5_000, 1],
      [{ rate: 1000, burst: 1 }, 1_000, 0.25],
      [{ rate: 0.5, burst: 1 }, 60_000, 10],
      [{ rate: 1 / 3, burst: 2 }, 30_000, 5],
      [{ rate: 7.5, burst: 4 }, 8_000, 0.5],
    ];
    for (const [policy, durationMs, stepMs] of cases) {
      const expected = Math.floor((policy.rate * durationMs) / 1000) + policy.burst;
      it(`rate ${policy.rate.toFixed(3)}/s burst ${policy.burst} over ${durationMs / 1000} s: ${expected}`, () => {
        expect(drive(policy, durationMs, stepMs)).toBe(expected);
        // Same on an epoch-sized clock, where float spacing is ~2e-4 ms.
        expect(drive(policy, durationMs, stepMs, 1_700_000_000_000)).toBe(expected);
      });
    }
  });

  it('handles fractional rates: 0.5/s means one request every two seconds', () => {
    const clock = manualClock();
    const limiter = new GcraBuckets({ clock });
    const policy = { rate: 0.5, burst: 1 };
    expect(limiter.limit('k', policy)).toMatchObject({ allowed: true, remaining: 0, resetMs: 2000 });
    clock.t = 1500;
    expect(limiter.limit('k', policy)).toMatchObject({ allowed: false, retryAfterMs: 500, resetMs: 500 });
    clock.t = 2000;
    expect(limiter.limit('k', policy)).toMatchObject({ allowed: true });
  });

  it('charges cost > 1 as that many requests, all or nothing', () => {
    const clock = manualClock();
    const limiter = new GcraBuckets({ clock });
    const policy = { rate: 10, burst: 5 };
    expect(limiter.limit('k', policy, 3)).toMatchObject({ allowed: true, remaining: 2, resetMs: 300 });
    // 3 more do not fit in the 2 left; one more unit refills in 100 ms.
    expect(limiter.limit('k', policy, 3)).toMatchObject({
      allowed: false,
      remaining: 2,
      resetMs: 300,
      retryAfterMs: 100,
    });
    expect(limiter.limit('k', policy, 2)).toMatchObject({ allowed: true, remaining: 0, resetMs: 500 });
  });

  it('denies cost > burst without consuming, with retryAfterMs = Infinity', () => {
    const clock = manualClock();
    const limiter = new GcraBuckets({ clock });
    const policy = { rate: 10, burst: 5 };
    expect(limiter.limit('k', policy, 6)).toEqual({
      allowed: false,
      limit: 5,
      remaining: 5,
      resetMs: 0,
      retryAfterMs: Number.POSITIVE_INFINITY,
    });
    expect(limiter.limit('k', policy, 5)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('reads state without consuming when cost is 0', () => {
    const limiter = new GcraBuckets({ clock: manualClock() });
    const policy = { rate: 1, burst: 2 };
    limiter.limit('k', policy);
    expect(limiter.limit('k', policy, 0)).toMatchObject({ allowed: true, remaining: 1, resetMs: 1000 });
    expect(limiter.limit('k', policy, 0)).toMatchObject({ allowed: true, remaining: 1, resetMs: 1000 });
    expect(limiter.limit('fresh', policy, 0)).toMatchObject({ allowed: true, remaining: 2 });
    expect(limiter.size).toBe(1);
  });

  it('keeps keys independent', () => {
    const limiter = new GcraBuckets({ clock: manualClock() });
    const policy = { rate: 1, burst: 2 };
    limiter.limit('a', policy);
    limiter.limit('a', policy);
    expect((limiter.limit('a', policy)).allowed).toBe(false);
    expect(limiter.limit('b', policy)).toMatchObject({ allowed: true, remaining: 1 });
    expect((limiter.limit('a', policy)).allowed).toBe(false);
  });

  it('rejects invalid policies and costs with RangeError', () => {
    const limiter = new GcraBuckets();
    for (const policy of [
      { rate: 0, burst: 1 },
      { rate: -1, burst: 1 },
      { rate: Number.NaN, burst: 1 },
      { rate: Number.POSITIVE_INFINITY, burst: 1 },
      { rate: 1, burst: 0 },
      { rate: 1, burst: 1.5 },
    ]) {
      expect(() => limiter.limit('k', policy)).toThrow(RangeError);
    }
    for (const cost of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => limiter.limit('k', { rate: 1, burst: 1 }, cost)).toThrow(RangeError);
    }
  });

  describe('bounded memory', () => {
    it('stays under max(minSweepSize, 2 x live keys) for 300,000 distinct keys', () => {
      const clock = manualClock();
      const limiter = new GcraBuckets({ clock });
      // One hit leaves a key non-full for 100 ms; at one new key per 0.1 ms at most 1001 are live.
      const policy = { rate: 10, burst: 5 };
      const liveBound = 100 / 0.1 + 1;
      const bound = Math.max(1024, 2 * liveBound);
      let maxSize = 0;
      // 300x the bound: enough sweeps to show it holds, cheap enough for a loaded CI machine.
      for (let i = 0; i < 300_000; i++) {
        clock.t = i * 0.1;
        limiter.limit(`tenant-${i}`, policy);
        if (limiter.size > maxSize) maxSize = limiter.size;
      }
      expect(maxSize).toBeLessThanOrEqual(bound);
      expect(maxSize).toBeGreaterThan(liveBound / 2); // it did hold the live keys
    });

    it('never drops a key that is not full, so sweeping cannot loosen a limit', () => {
      const clock = manualClock();
      const limiter = new GcraBuckets({ clock, minSweepSize: 16 });
      const strict = { rate: 0.001, burst: 1 }; // refills in 1000 s
      expect((limiter.limit('victim', strict)).allowed).toBe(true);
      for (let i = 0; i < 10_000; i++) {
        clock.t = i; // the flood keys expire after 100 ms; the victim's state must survive
        limiter.limit(`flood-${i}`, { rate: 10, burst: 1 });
      }
      expect(limiter.size).toBeLessThan(500);
      expect(limiter.limit('victim', strict)).toMatchObject({ allowed: false, remaining: 0 });
    });

    it('gives memory back after sweepIntervalMs even if the map never doubles again', () => {
      const clock = manualClock();
      const limiter = new GcraBuckets({ clock, sweepIntervalMs: 10_000 });
      for (let i = 0; i < 1000; i++) limiter.limit(`k${i}`, { rate: 1, burst: 1 });
      expect(limiter.size).toBe(1000);
      clock.t = 10_000;
      limiter.limit('one', { rate: 1, burst: 1 });
      expect(limiter.size).toBe(1);
    });

    it('sweep() drops exactly the full buckets', () => {
      const clock = manualClock();
      const limiter = new GcraBuckets({ clock });
      limiter.limit('short', { rate: 10, burst: 1 }); // full again at 100 ms
      limiter.limit('long', { rate: 1, burst: 1 }); // full again at 1000 ms
      clock.t = 100;
      expect(limiter.sweep()).toBe(1);
      expect(limiter.size).toBe(1);
      clock.t = 1000;
      expect(limiter.sweep()).toBe(1);
      expect(limiter.size).toBe(0);
    });
  });
});
