import { describe, expect, it } from 'vitest';
import { WindowLogs } from './memory-window.js';
import type { WindowDecision, WindowPolicy } from './window-interface.js';
import { seededRandom } from '@dingtalk-gateway/test-support';

/** A clock the test moves by hand. */
function manualClock(start = 0) {
  return {
    t: start,
    now() {
      return this.t;
    },
  };
}

/** The definition, by brute force: admit iff fewer than `limit` admissions in (t - windowMs, t]. */
function referenceDecision(admissions: number[], policy: WindowPolicy, t: number): WindowDecision {
  const cutoff = t - policy.windowMs;
  const inWindow = admissions.filter((a) => a > cutoff);
  if (inWindow.length < policy.limit) {
    admissions.push(t);
    return { allowed: true, remaining: policy.limit - inWindow.length - 1, retryAfterMs: 0 };
  }
  return { allowed: false, remaining: 0, retryAfterMs: Math.ceil(inWindow[0]! - cutoff) };
}

describe('WindowLogs', () => {
  it('admits a full burst at once, then refuses until exactly when the oldest leaves', () => {
    const clock = manualClock();
    const limiter = new WindowLogs({ clock });
    const policy = { limit: 3, windowMs: 1000 };

    expect(limiter.hit('k', policy)).toEqual({ allowed: true, remaining: 2, retryAfterMs: 0 });
    clock.t = 10;
    expect(limiter.hit('k', policy)).toEqual({ allowed: true, remaining: 1, retryAfterMs: 0 });
    clock.t = 20;
    expect(limiter.hit('k', policy)).toEqual({ allowed: true, remaining: 0, retryAfterMs: 0 });

    // The 4th: the oldest (t = 0) leaves the window at t = 1000.
    clock.t = 30;
    expect(limiter.hit('k', policy)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 970 });
    clock.t = 999;
    expect(limiter.hit('k', policy)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 1 });
    clock.t = 1000;
    expect(limiter.hit('k', policy)).toEqual({ allowed: true, remaining: 0, retryAfterMs: 0 });
    // Denials recorded nothing: the next slot opens when the admission at t = 10 leaves.
    expect(limiter.hit('k', policy)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 10 });
    clock.t = 1010;
    expect((limiter.hit('k', policy)).allowed).toBe(true);

    // Idle a whole window and the key is as good as new.
    clock.t = 1010 + 1000;
    expect(limiter.hit('k', policy)).toEqual({ allowed: true, remaining: 2, retryAfterMs: 0 });
  });

  it("keeps DingTalk's 20 per second: 20 at once, never 21 in any second", () => {
    const clock = manualClock(1_700_000_000_123); // an epoch-sized clock, off the second boundary
    const limiter = new WindowLogs({ clock });
    const policy = { limit: 20, windowMs: 1000 };
    const start = clock.t;
    const admitted: number[] = [];
    // 100 calls per second for 5 s: the first 20 of each window get through, the rest wait.
    for (let i = 0; i < 500; i++) {
      clock.t = start + i * 10;
      if ((limiter.hit('app:op', policy)).allowed) admitted.push(clock.t);
    }
    expect(admitted.slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, i) => start + i * 10));
    expect(admitted).toHaveLength(100);
    for (let i = 0; i + 20 < admitted.length; i++) {
      expect(admitted[i + 20]! - admitted[i]!).toBeGreaterThanOrEqual(1000);
    }
  });

  describe('exactness: matches the brute-force sliding log on random arrivals', () => {
    const cases: Array<[name: string, policy: WindowPolicy, start: number, gap: (rnd: () => number) => number]> = [
      // Gaps in whole ms, including 0 (simultaneous hits) and exactly-on-the-boundary arrivals.
      ['20 per 1000 ms, whole-ms gaps', { limit: 20, windowMs: 1000 }, 0, (r) => Math.floor(r() * 80)],
      ['20 per 1000 ms on an epoch-sized clock', { limit: 20, windowMs: 1000 }, 1_700_000_000_000, (r) => Math.floor(r() * 80)],
      ['3 per 100 ms, bursty', { limit: 3, windowMs: 100 }, 0, (r) => (r() < 0.5 ? 0 : Math.floor(r() * 150))],
      ['1 per 50 ms', { limit: 1, windowMs: 50 }, 0, (r) => Math.floor(r() * 60)],
      ['7 per 0.5 ms, fractional gaps', { limit: 7, windowMs: 0.5 }, 0, (r) => r() * 0.1],
      ['5 per 333.3 ms, fractional gaps', { limit: 5, windowMs: 333.3 }, 12.5, (r) => r() * 80],
    ];
    for (const [name, policy, start, gap] of cases) {
      it(name, () => {
        const rnd = seededRandom(0x5eed);
        const clock = manualClock(start);
        const limiter = new WindowLogs({ clock });
        const reference: number[] = [];
        let denials = 0;
        for (let i = 0; i < 5000; i++) {
          clock.t += gap(rnd);
          const decision = limiter.hit('k', policy);
          const expected = referenceDecision(reference, policy, clock.t);
          if (!expected.allowed) denials++;
          if (decision.allowed !== expected.allowed || decision.remaining !== expected.remaining || decision.retryAfterMs !== expected.retryAfterMs) {
            expect({ hit: i, t: clock.t, decision }).toEqual({ hit: i, t: clock.t, decision: expected });
          }
        }
        // The arrival process really pressed on the limit...
        expect(denials).toBeGreaterThan(500);
        expect(reference.length).toBeGreaterThan(500);
        // ...and, checked independently: any limit + 1 admissions span at least a window.
        for (let i = 0; i + policy.limit < reference.length; i++) {
          expect(reference[i]!).toBeLessThanOrEqual(reference[i + policy.limit]! - policy.windowMs);
        }
      });
    }
  });

  it('keeps keys independent', () => {
    const limiter = new WindowLogs({ clock: manualClock() });
    const policy = { limit: 2, windowMs: 1000 };
    limiter.hit('a', policy);
    limiter.hit('a', policy);
    expect((limiter.hit('a', policy)).allowed).toBe(false);
    expect(limiter.hit('b', policy)).toEqual({ allowed: true, remaining: 1, retryAfterMs: 0 });
    expect((limiter.hit('a', policy)).allowed).toBe(false);
  });

  it('applies a changed windowMs to the stored admissions', () => {
    const clock = manualClock();
    const limiter = new WindowLogs({ clock });
    limiter.hit('k', { limit: 2, windowMs: 1000 });
    clock.t = 500;
    limiter.hit('k', { limit: 2, windowMs: 1000 });
    clock.t = 600;
    expect(limiter.hit('k', { limit: 2, windowMs: 1000 })).toMatchObject({ allowed: false, retryAfterMs: 400 });
    // With 100 ms windows both admissions (t = 0 and 500) are out of (500, 600].
    expect(limiter.hit('k', { limit: 2, windowMs: 100 })).toEqual({ allowed: true, remaining: 1, retryAfterMs: 0 });
    // Back to 1000 ms: the last two admissions (t = 500, 600) are in the window; 500 leaves at 1500.
    expect(limiter.hit('k', { limit: 2, windowMs: 1000 })).toMatchObject({ allowed: false, retryAfterMs: 900 });
  });

  it('re-sizes on a changed limit, keeping the newest admissions', () => {
    const clock = manualClock();
    const limiter = new WindowLogs({ clock });
    for (const t of [0, 10, 20]) {
      clock.t = t;
      expect((limiter.hit('k', { limit: 3, windowMs: 1000 })).allowed).toBe(true);
    }
    // Shrinking is exact: 3 in the window, so 2 must leave first; the second oldest (t = 10) at 1010.
    clock.t = 30;
    expect(limiter.hit('k', { limit: 2, windowMs: 1000 })).toEqual({ allowed: false, remaining: 0, retryAfterMs: 980 });
    clock.t = 1010;
    expect(limiter.hit('k', { limit: 2, windowMs: 1000 })).toEqual({ allowed: true, remaining: 0, retryAfterMs: 0 });
    // Growing back keeps the two it has (t = 20, 1010): 2 + this one in the window.
    clock.t = 1015;
    expect(limiter.hit('k', { limit: 4, windowMs: 1000 })).toEqual({ allowed: true, remaining: 1, retryAfterMs: 0 });
    expect(limiter.size).toBe(1);
  });

  it('rejects invalid policies with RangeError', () => {
    const limiter = new WindowLogs();
    for (const policy of [
      { limit: 0, windowMs: 1000 },
      { limit: 1.5, windowMs: 1000 },
      { limit: Number.NaN, windowMs: 1000 },
      { limit: 1, windowMs: 0 },
      { limit: 1, windowMs: -1 },
      { limit: 1, windowMs: Number.NaN },
      { limit: 1, windowMs: Number.POSITIVE_INFINITY },
    ]) {
      expect(() => limiter.hit('k', policy)).toThrow(RangeError);
    }
    expect(limiter.size).toBe(0);
  });

  describe('bounded memory', () => {
    it('stays under max(minSweepSize, 2 x live keys) for 200k distinct keys', () => {
      const clock = manualClock();
      const limiter = new WindowLogs({ clock });
      // A key stays live for one window (100 ms); at one new key per 0.1 ms at most 1001 are live.
      const policy = { limit: 20, windowMs: 100 };
      const liveBound = 100 / 0.1 + 1;
      const bound = Math.max(1024, 2 * liveBound);
      let maxSize = 0;
      for (let i = 0; i < 200_000; i++) {
        clock.t = i * 0.1;
        limiter.hit(`app-${i}`, policy);
        if (limiter.size > maxSize) maxSize = limiter.size;
      }
      expect(maxSize).toBeLessThanOrEqual(bound);
      expect(maxSize).toBeGreaterThan(liveBound / 2); // it did hold the live keys
    });

    it('never drops a key with an admission in its window, so sweeping cannot loosen a limit', () => {
      const clock = manualClock();
      const limiter = new WindowLogs({ clock, minSweepSize: 16 });
      const strict = { limit: 1, windowMs: 1_000_000 };
      expect((limiter.hit('victim', strict)).allowed).toBe(true);
      for (let i = 0; i < 10_000; i++) {
        clock.t = i; // the flood keys are spent after 100 ms; the victim's log must survive
        limiter.hit(`flood-${i}`, { limit: 3, windowMs: 100 });
      }
      expect(limiter.size).toBeLessThan(500);
      expect(limiter.hit('victim', strict)).toMatchObject({ allowed: false, retryAfterMs: 1_000_000 - 9_999 });
    });

    it('gives memory back after sweepIntervalMs even if the map never doubles again', () => {
      const clock = manualClock();
      const limiter = new WindowLogs({ clock, sweepIntervalMs: 10_000 });
      for (let i = 0; i < 1000; i++) limiter.hit(`k${i}`, { limit: 5, windowMs: 1000 });
      expect(limiter.size).toBe(1000);
      clock.t = 10_000;
      limiter.hit('one', { limit: 5, windowMs: 1000 });
      expect(limiter.size).toBe(1);
    });

    it('sweep() drops exactly the keys whose newest admission has left the window', () => {
      const clock = manualClock();
      const limiter = new WindowLogs({ clock });
      limiter.hit('short', { limit: 2, windowMs: 100 });
      limiter.hit('long', { limit: 2, windowMs: 1000 });
      clock.t = 50;
      limiter.hit('short', { limit: 2, windowMs: 100 }); // newest now leaves at 150
      clock.t = 149;
      expect(limiter.sweep()).toBe(0);
      clock.t = 150;
      expect(limiter.sweep()).toBe(1);
      expect(limiter.size).toBe(1);
      clock.t = 1000;
      expect(limiter.sweep()).toBe(1);
      expect(limiter.size).toBe(0);
    });
  });
});
