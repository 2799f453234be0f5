import { describe, expect, it, vi } from 'vitest';
import { withFallback, withWindowFallback } from './fallback.js';
import {
  RateLimiterUnavailableError,
  type RateLimitDecision,
  type RateLimitPolicy,
  type RateLimiter,
} from './interface.js';
import type { WindowDecision, WindowLimiter, WindowPolicy } from './window-interface.js';

const policy: RateLimitPolicy = { rate: 1, burst: 2 };

/** A primary we can take down and bring back; its decisions are recognizable (remaining 42). */
class FakePrimary implements RateLimiter {
  down = false;
  calls = 0;
  /** When set, the next call waits for this promise before answering. */
  hold: Promise<void> | undefined;

  async limit(_key: string, p: RateLimitPolicy): Promise<RateLimitDecision> {
    this.calls++;
    const hold = this.hold;
    if (hold) await hold;
    if (this.down) throw new RateLimiterUnavailableError('timeout', 'fake primary is down');
    return { allowed: true, limit: p.burst, remaining: 42, resetMs: 0, retryAfterMs: 0 };
  }
}

function setup(options: Parameters<typeof withFallback>[1] = {}) {
  const clock = { t: 0, now() { return this.t; } };
  const primary = new FakePrimary();
  const onTrip = vi.fn();
  const onRecover = vi.fn();
  const limiter = withFallback(primary, { clock, onTrip, onRecover, probeIntervalMs: 1000, ...options });
  return { clock, primary, limiter, onTrip, onRecover };
}

describe('withFallback', () => {
  it('passes decisions through while the primary answers', async () => {
    const { limiter, primary, onTrip } = setup();
    expect(await limiter.limit('k', policy)).toMatchObject({ remaining: 42 });
    expect(primary.calls).toBe(1);
    expect(limiter.state).toBe('primary');
    expect(onTrip).not.toHaveBeenCalled();
  });

  it('trips on the first unavailable error and answers that call from the local limiter', async () => {
    const { limiter, primary, onTrip } = setup();
    primary.down = true;
    const decision = await limiter.limit('k', policy);
    expect(decision).toMatchObject({ allowed: true, remaining: 1 });
    expect(limiter.state).toBe('fallback');
    expect(onTrip).toHaveBeenCalledTimes(1);
    expect(onTrip.mock.calls[0]?.[0]).toBeInstanceOf(RateLimiterUnavailableError);
  });

  it('defaults to local mode: tenants stay limited while the primary is down', async () => {
    const { limiter, primary } = setup();
    primary.down = true;
    const allowed = [];
    for (let i = 0; i < 5; i++) allowed.push((await limiter.limit('k', policy)).allowed);
    expect(allowed).toEqual([true, true, false, false, false]);
  });

  it('probes a dead primary at most once per probe interval, and recovers when it answers', async () => {
    const { limiter, primary, clock, onTrip, onRecover } = setup();
    primary.down = true;
    await limiter.limit('k', policy); // trips
    const callsAfterTrip = primary.calls;

    for (let i = 0; i < 100; i++) await limiter.limit('k', policy);
    expect(primary.calls).toBe(callsAfterTrip); // not hammered

    clock.t = 1000;
    for (let i = 0; i < 100; i++) await limiter.limit('k', policy);
    expect(primary.calls).toBe(callsAfterTrip + 1); // one failed probe
    expect(limiter.state).toBe('fallback');

    clock.t = 1999;
    await limiter.limit('k', policy);
    expect(primary.calls).toBe(callsAfterTrip + 1);

    primary.down = false;
    clock.t = 2000;
    expect(await limiter.limit('k', policy)).toMatchObject({ remaining: 42 }); // the probe's answer
    expect(limiter.state).toBe('primary');
    expect(onRecover).toHaveBeenCalledTimes(1);
    expect(await limiter.limit('k', policy)).toMatchObject({ remaining: 42 });
    expect(onTrip).toHaveBeenCalledTimes(1);
  });

  it('sends one probe at a time; concurrent calls use the fallback meanwhile', async () => {
    const { limiter, primary, clock } = setup();
    primary.down = true;
    await limiter.limit('k', policy);
    clock.t = 1000;
    primary.down = false;
    let release!: () => void;
    primary.hold = new Promise((resolve) => (release = resolve));
    const probe = limiter.limit('k', policy);
    primary.hold = undefined;
    const others = await Promise.all([limiter.limit('k', policy), limiter.limit('k', policy)]);
    expect(others.map((d) => d.remaining)).not.toContain(42);
    expect(primary.calls).toBe(2); // the trip and the single probe
    release();
    expect(await probe).toMatchObject({ remaining: 42 });
    expect(limiter.state).toBe('primary');
  });

  it('ignores a late failure from before the recovery', async () => {
    const { limiter, primary, clock, onTrip } = setup();
    let release!: () => void;
    primary.hold = new Promise((resolve) => (release = resolve));
    const slow = limiter.limit('k', policy); // starts while healthy, will fail late
    primary.hold = undefined;
    primary.down = true;
    await limiter.limit('k', policy); // trips
    primary.down = false;
    clock.t = 1000;
    await limiter.limit('k', policy); // probe succeeds: recovered
    primary.down = true;
    release();
    await slow; // fails now, but belongs to the outage that is over
    primary.down = false;
    expect(limiter.state).toBe('primary');
    expect(onTrip).toHaveBeenCalledTimes(1);
  });

  it('open mode admits everything while tripped', async () => {
    const { limiter, primary } = setup({ mode: 'open' });
    primary.down = true;
    for (let i = 0; i < 10; i++) {
      expect(await limiter.limit('k', policy)).toEqual({
        allowed: true,
        limit: 2,
        remaining: 2,
        resetMs: 0,
        retryAfterMs: 0,
      });
    }
  });

  it('closed mode denies everything while tripped, retrying after the next probe', async () => {
    const { limiter, primary, clock } = setup({ mode: 'closed' });
    primary.down = true;
    expect(await limiter.limit('k', policy)).toEqual({
      allowed: false,
      limit: 2,
      remaining: 0,
      resetMs: 1000,
      retryAfterMs: 1000,
    });
    clock.t = 400;
    expect(await limiter.limit('k', policy)).toMatchObject({ allowed: false, retryAfterMs: 600 });
  });

  it('uses the given local limiter', async () => {
    const local: RateLimiter = {
      limit: async (_k, p) => ({ allowed: false, limit: p.burst, remaining: 0, resetMs: 7, retryAfterMs: 7 }),
    };
    const { limiter, primary } = setup({ local });
    primary.down = true;
    expect(await limiter.limit('k', policy)).toMatchObject({ allowed: false, resetMs: 7 });
  });

  it('propagates other errors without tripping', async () => {
    const boom: RateLimiter = {
      limit: async () => {
        throw new RangeError('bad policy');
      },
    };
    const onTrip = vi.fn();
    const limiter = withFallback(boom, { onTrip });
    await expect(limiter.limit('k', policy)).rejects.toThrow(RangeError);
    expect(limiter.state).toBe('primary');
    expect(onTrip).not.toHaveBeenCalled();
  });

  it('survives throwing hooks', async () => {
    const { limiter, primary, clock } = setup({
      onTrip: () => {
        throw new Error('hook');
      },
      onRecover: () => {
        throw new Error('hook');
      },
    });
    primary.down = true;
    expect((await limiter.limit('k', policy)).allowed).toBe(true);
    primary.down = false;
    clock.t = 1000;
    expect(await limiter.limit('k', policy)).toMatchObject({ remaining: 42 });
  });
});

/** The window counterpart of FakePrimary; its admissions are recognizable (remaining 42). */
class FakeWindowPrimary implements WindowLimiter {
  down = false;
  calls = 0;

  async hit(): Promise<WindowDecision> {
    this.calls++;
    if (this.down) throw new RateLimiterUnavailableError('error', 'fake primary is down');
    return { allowed: true, remaining: 42, retryAfterMs: 0 };
  }
}

// The circuit (trip, probe, recover, late failures, hooks) is the one tested above; these check
// that the window wrapper drives it and picks the window-shaped fallbacks.
describe('withWindowFallback', () => {
  const window: WindowPolicy = { limit: 2, windowMs: 1000 };

  function setupWindow(options: Parameters<typeof withWindowFallback>[1] = {}) {
    const clock = { t: 0, now() { return this.t; } };
    const primary = new FakeWindowPrimary();
    const onTrip = vi.fn();
    const onRecover = vi.fn();
    const limiter = withWindowFallback(primary, { clock, onTrip, onRecover, probeIntervalMs: 1000, ...options });
    return { clock, primary, limiter, onTrip, onRecover };
  }

  it('defaults to a local sliding window while the primary is down, then probes and recovers', async () => {
    const { limiter, primary, clock, onTrip, onRecover } = setupWindow();
    expect(await limiter.hit('k', window)).toMatchObject({ remaining: 42 });
    primary.down = true;
    const allowed = [];
    for (let i = 0; i < 4; i++) allowed.push((await limiter.hit('k', window)).allowed);
    expect(allowed).toEqual([true, true, false, false]);
    expect(await limiter.hit('k', window)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 1000 });
    expect(limiter.state).toBe('fallback');
    expect(primary.calls).toBe(2); // not hammered while tripped
    expect(onTrip).toHaveBeenCalledTimes(1);

    primary.down = false;
    clock.t = 1000;
    expect(await limiter.hit('k', window)).toMatchObject({ remaining: 42 });
    expect(limiter.state).toBe('primary');
    expect(onRecover).toHaveBeenCalledTimes(1);
  });

  it('open mode admits everything while tripped', async () => {
    const { limiter, primary } = setupWindow({ mode: 'open' });
    primary.down = true;
    for (let i = 0; i < 10; i++) {
      expect(await limiter.hit('k', window)).toEqual({ allowed: true, remaining: 2, retryAfterMs: 0 });
    }
  });

  it('closed mode denies everything while tripped, retrying after the next probe', async () => {
    const { limiter, primary, clock } = setupWindow({ mode: 'closed' });
    primary.down = true;
    expect(await limiter.hit('k', window)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 1000 });
    clock.t = 400;
    expect(await limiter.hit('k', window)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 600 });
    await expect(limiter.hit('k', { limit: 0, windowMs: 1000 })).rejects.toThrow(RangeError);
  });

  it('uses the given local limiter, and propagates other errors without tripping', async () => {
    const local: WindowLimiter = { hit: async () => ({ allowed: false, remaining: 0, retryAfterMs: 7 }) };
    const { limiter, primary } = setupWindow({ local });
    primary.down = true;
    expect(await limiter.hit('k', window)).toMatchObject({ retryAfterMs: 7 });

    const boom: WindowLimiter = {
      hit: async () => {
        throw new RangeError('bad policy');
      },
    };
    const strict = withWindowFallback(boom);
    await expect(strict.hit('k', window)).rejects.toThrow(RangeError);
    expect(strict.state).toBe('primary');
  });
});
